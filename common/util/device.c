/* device.c: see device.h. The parsers and check_device; device_select, the
 * one caller of the CUDA runtime, is in device_select.c, so that a program
 * that never selects a GPU links no CUDA library (-Wl,--as-needed). */
#include "util/device.h"

#include <stdlib.h>
#include <string.h>

#include "util/util.h"


int device_parse(const char *s, device_kind *kind, int *index) {
    if (!strcmp(s, "auto")) { *kind = DEV_AUTO; *index = -1; return 0; }
    if (!strcmp(s, "cpu")) { *kind = DEV_CPU; *index = -1; return 0; }
    if (strncmp(s, "cuda", 4)) return -1;
    if (!s[4]) { *kind = DEV_CUDA; *index = 0; return 0; }
    if (s[4] != ':' || !s[5] || strlen(s + 5) > 4 || strspn(s + 5, "0123456789") != strlen(s + 5)) return -1;
    int n = atoi(s + 5);
    if (n > 4095) return -1;
    *kind = DEV_CUDA;
    *index = n;
    return 0;
}

int precision_parse(const char *s, precision *p) {
    if (!strcmp(s, "fp32")) { *p = PREC_FP32; return 0; }
    if (!strcmp(s, "tf32")) { *p = PREC_TF32; return 0; }
    if (!strcmp(s, "bf16")) { *p = PREC_BF16; return 0; }
    return -1;
}

const char *precision_name(precision p) { return p == PREC_TF32 ? "tf32" : p == PREC_BF16 ? "bf16" : "fp32"; }

void device_parse_or_die(const char *device, device_kind *kind, int *index) {
    if (device_parse(device, kind, index)) die("--device '%s': expected auto, cpu, cuda or cuda:N", device);
}

void check_device(const char *device) {
    device_kind kind;
    int index;
    device_parse_or_die(device, &kind, &index);
    if (kind != DEV_CUDA) return;
#if DSAH_CUDA
    die("--device %s: %s has no CUDA path yet (use --device cpu or auto)", device, dsah_prog);
#else
    die("--device %s: this build of %s has no CUDA support (use auto or cpu)", device, dsah_prog);
#endif
}
