/* SPDX-License-Identifier: MIT */
/* replay.c -- regression driver: runs a fuzz target's entry point over every
 * file given on the command line (or in the directories given), so the
 * committed corpus is replayed under plain gcc by `make check`. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <stdint.h>
int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
/* optional, as in libFuzzer: targets that set up state define it */
int LLVMFuzzerInitialize(int* argc, char*** argv) __attribute__((weak));

static int run_file(const char* path)
{
    FILE* f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t* buf = malloc(n > 0 ? (size_t)n : 1);
    size_t got = buf ? fread(buf, 1, (size_t)n, f) : 0;
    fclose(f);
    if (!buf || got != (size_t)n) {
        free(buf);
        fprintf(stderr, "replay: cannot read %s\n", path);
        return 1;
    }
    LLVMFuzzerTestOneInput(buf, (size_t)n);
    free(buf);
    return 0;
}

int main(int argc, char** argv)
{
    int files = 0, bad = 0;
    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            DIR* dir = opendir(argv[i]);
            struct dirent* e;
            while (dir && (e = readdir(dir))) {
                if (e->d_name[0] == '.') continue;
                char path[4096];
                snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
                bad += run_file(path);
                files++;
            }
            if (dir) closedir(dir);
        } else {
            bad += run_file(argv[i]);
            files++;
        }
    }
    printf("replay: %d inputs, %d unreadable\n", files, bad);
    return bad ? 1 : 0;
}
