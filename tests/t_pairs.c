/* t_pairs.c: common/report/pairs.h (dsah-pairs, the report's Figure 5):
 * the class of a multi-hot row, the batch draw ordered by class, and the
 * means over the diagonal / same-class / different-class pairs, against
 * hand-worked values. */
#include <string.h>

#include "report/pairs.h"
#include "tap.h"

int main(void) {
    /* labels u1 [4, 3]: row 0 class 1, row 1 none, row 2 classes 0 and 2, row 3 class 2 */
    const uint8_t lab[12] = {0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 1};
    ok(first_label(lab, 3, 0) == 1 && first_label(lab, 3, 1) == -1 && first_label(lab, 3, 2) == 0 &&
           first_label(lab, 3, 3) == 2,
       "first_label: 1, -1 (no label), 0 (first of two), 2");

    /* 3 items, classes 0 0 1: s and a with distinct entries */
    const float s[9] = {1, 0.5f, -0.5f, 0.25f, 1, 0, -1, 0.75f, 1};
    const float a[9] = {2, 3, 5, 7, 4, 11, 13, 17, 6};
    const int cls[3] = {0, 0, 1};
    double ms[3], ma[3];
    int64_t cnt[3];
    pairs_class_means(ms, ma, cnt, s, a, cls, 3);
    /* diagonal: (0,0) (1,1) (2,2); same class: (0,1) (1,0); different: (0,2) (1,2) (2,0) (2,1) */
    ok(cnt[0] == 3 && cnt[1] == 2 && cnt[2] == 4, "pairs_class_means: 3 diagonal, 2 same-class, 4 different-class pairs");
    ok(ms[0] == 1 && ms[1] == 0.375 && ms[2] == (-0.5 + 0 - 1 + 0.75) / 4, "pairs_class_means: mean s per kind (1, 0.375, -0.1875)");
    ok(ma[0] == 4 && ma[1] == 5 && ma[2] == (5 + 11 + 13 + 17) / 4.0, "pairs_class_means: mean a per kind (4, 5, 11.5)");

    /* the draw: B distinct rows ordered by (class, row), the same for the same seed */
    int c20[20];
    for (int i = 0; i < 20; i++) c20[i] = (i * 7) % 3;
    int64_t rows[8], again[8];
    pairs_draw(rows, 20, 8, c20, 5);
    pairs_draw(again, 20, 8, c20, 5);
    int good = 1;
    for (int i = 0; i < 8; i++) {
        good &= rows[i] >= 0 && rows[i] < 20;
        for (int j = 0; j < i; j++) good &= rows[j] != rows[i];
        if (i) good &= c20[rows[i - 1]] < c20[rows[i]] || (c20[rows[i - 1]] == c20[rows[i]] && rows[i - 1] < rows[i]);
    }
    ok(good, "pairs_draw: 8 distinct rows of 20, ordered by class then row");
    ok(!memcmp(rows, again, sizeof rows), "pairs_draw: the same seed draws the same batch");
    return done_testing();
}
