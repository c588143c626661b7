/* An independent spawn floor: N `status` calls of a plugin through a bare posix_spawn with one
 * pipe (stdout and stderr), read to EOF, waitpid. Prints microseconds per call (wall, median of
 * rounds of 100). Used to check `execnet bench`'s own floor (benches/README.md).
 *   cc -O2 -o floor benches/plugin/floor.c && ./floor PLUGIN_EXECUTABLE 2000 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: floor EXECUTABLE CALLS\n"); return 2; }
    int calls = atoi(argv[2]), rounds = calls / 100 > 0 ? calls / 100 : 1;
    char *args[] = {argv[1], "status", "ns", "pod", "0123456789abcdef", NULL};
    double *per = calloc(rounds, sizeof *per);
    static char buf[65536];
    for (int r = 0; r < rounds; r++) {
        double t0 = now_us();
        for (int i = 0; i < 100; i++) {
            int p[2];
            if (pipe2(p, O_CLOEXEC) != 0) return 1;
            posix_spawn_file_actions_t fa;
            posix_spawn_file_actions_init(&fa);
            posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", 0, 0);
            posix_spawn_file_actions_adddup2(&fa, p[1], 1);
            posix_spawn_file_actions_adddup2(&fa, p[1], 2);
            pid_t pid;
            if (posix_spawn(&pid, argv[1], &fa, NULL, args, environ) != 0) return 1;
            posix_spawn_file_actions_destroy(&fa);
            close(p[1]);
            while (read(p[0], buf, sizeof buf) > 0) {}
            close(p[0]);
            int st;
            waitpid(pid, &st, 0);
        }
        per[r] = (now_us() - t0) / 100;
    }
    qsort(per, rounds, sizeof *per, cmp);
    printf("%.1f\n", per[rounds / 2]);
    return 0;
}
