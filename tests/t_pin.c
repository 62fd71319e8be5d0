/* t_pin: dsah_pin_threads (util.h). With a team as large as the affinity
 * mask, each OpenMP thread ends pinned to one CPU, all different, covering
 * the mask; a team of 1, or a user binding in the environment, pins nothing. */
#define _GNU_SOURCE
#include <omp.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "util/util.h"

int main(void) {
    dsah_init("t_pin");
    cpu_set_t allowed;
    CHECK(sched_getaffinity(0, sizeof allowed, &allowed) == 0);
    int ncpu = CPU_COUNT(&allowed);

    omp_set_num_threads(1);
    ok(dsah_pin_threads() == 0, "team of 1: nothing pinned");
    cpu_set_t now;
    CHECK(sched_getaffinity(0, sizeof now, &now) == 0);
    ok(CPU_EQUAL(&now, &allowed), "team of 1: the mask is unchanged");

    setenv("OMP_PROC_BIND", "false", 1);
    omp_set_num_threads(ncpu);
    ok(dsah_pin_threads() == 0, "OMP_PROC_BIND set: the user's choice is left alone");
    unsetenv("OMP_PROC_BIND");

    if (ncpu < 2) {
        skip(2, "one CPU in the affinity mask: nothing to pin");
        return done_testing();
    }
    ok(dsah_pin_threads() == 1, "team of %d = CPUs in the mask: pinned", ncpu);
    int *cpu_of = calloc((size_t)ncpu, sizeof(int)), single = 1;
#pragma omp parallel num_threads(ncpu) reduction(&& : single)
    {
        cpu_set_t m;
        CHECK(sched_getaffinity(0, sizeof m, &m) == 0);
        single = CPU_COUNT(&m) == 1;
        for (int c = 0; c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &m)) cpu_of[omp_get_thread_num()] = c;
    }
    cpu_set_t seen;
    CPU_ZERO(&seen);
    for (int t = 0; t < ncpu; t++) CPU_SET(cpu_of[t], &seen);
    ok(single && CPU_EQUAL(&seen, &allowed), "each thread on one CPU, all %d different, together the whole mask", ncpu);
    free(cpu_of);
    return done_testing();
}
