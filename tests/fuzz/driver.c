/* driver.c: main for the fuzz targets built without libFuzzer (make test):
 * runs LLVMFuzzerTestOneInput once per file named on the command line and
 * prints one TAP line per file. A crash, an abort (CHECK failure) or a
 * sanitizer report ends the process, which prove reports as a failure. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) { printf("not ok %d - %s: cannot open\n", i, argv[i]); return 1; }
        size_t cap = 1 << 16, n = 0;
        uint8_t *b = malloc(cap);
        size_t got;
        while ((got = fread(b + n, 1, cap - n, f)) > 0) {
            n += got;
            if (n == cap) b = realloc(b, cap *= 2);
        }
        fclose(f);
        LLVMFuzzerTestOneInput(b, n);
        free(b);
        printf("ok %d - %s\n", i, argv[i]);
        fflush(stdout);
    }
    printf("1..%d\n", argc - 1);
    return 0;
}
