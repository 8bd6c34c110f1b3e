#define _GNU_SOURCE
#include "CGaleProcess.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/// In the child: tells the parent which step failed (one write, smaller than PIPE_BUF, so
/// atomic) and exits.
static void fail(int pipe_fd, int step, int error) {
    int message[2] = {step, error};
    ssize_t ignored = write(pipe_fd, message, sizeof message);
    (void)ignored;
    _exit(127);
}

/// In the child: closes every descriptor from `from` to `to` (inclusive). close_range where the
/// kernel has it (5.9), else one close per possible descriptor up to `limit`.
static int close_descriptors(unsigned from, unsigned to, unsigned limit) {
    if (from > to) return 0;
#ifdef SYS_close_range
    if (syscall(SYS_close_range, from, to, 0) == 0) return 0;
    if (errno != ENOSYS) return -1;
#endif
    for (unsigned fd = from; fd <= to && fd < limit; fd++) close((int)fd);
    return 0;
}

pid_t gale_spawn(const gale_spawn_request *request, int *failed_step, int *error) {
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
        *failed_step = GALE_SPAWN_PIPE;
        *error = errno;
        return -1;
    }
    // The write end must survive the child's dup2 onto 0, 1 and 2.
    if (pipe_fds[1] < 3) {
        int moved = fcntl(pipe_fds[1], F_DUPFD_CLOEXEC, 3);
        int saved = errno;
        close(pipe_fds[1]);
        if (moved < 0) {
            close(pipe_fds[0]);
            *failed_step = GALE_SPAWN_PIPE;
            *error = saved;
            return -1;
        }
        pipe_fds[1] = moved;
    }
    struct rlimit files;
    unsigned limit = 65536;
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY && files.rlim_cur < (1u << 20)) {
        limit = (unsigned)files.rlim_cur;
    }

    // Every signal blocked across fork: the child must not run one of the parent's handlers
    // before it has reset them.
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    pid_t pid = fork();
    if (pid == 0) {
        // The child: async-signal-safe calls only until execve.
        int report = pipe_fds[1];
        struct sigaction defaults;
        memset(&defaults, 0, sizeof defaults);
        defaults.sa_handler = SIG_DFL;
        sigemptyset(&defaults.sa_mask);
        for (int signal = 1; signal < NSIG; signal++) {
            if (signal == SIGKILL || signal == SIGSTOP) continue;
            // Fails for the C library's own real-time signals: they keep theirs.
            sigaction(signal, &defaults, NULL);
        }
        sigset_t none;
        sigemptyset(&none);
        if (sigprocmask(SIG_SETMASK, &none, NULL) != 0) fail(report, GALE_SPAWN_SIGNALS, errno);
        if (setpgid(0, 0) != 0) fail(report, GALE_SPAWN_PROCESS_GROUP, errno);
        int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null_fd < 0 || dup2(null_fd, 0) < 0) fail(report, GALE_SPAWN_STDIN, errno);
        int log_fd = open(request->log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        if (log_fd < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0) fail(report, GALE_SPAWN_LOG, errno);
        // Everything from 3 up but the report pipe (close-on-exec) goes: the C clients open
        // their sockets without close-on-exec.
        if (close_descriptors(3, (unsigned)report - 1, limit) != 0
            || close_descriptors((unsigned)report + 1, ~0u, limit) != 0) {
            fail(report, GALE_SPAWN_DESCRIPTORS, errno);
        }
        if (request->switch_user) {
            // Raw system calls: they change this thread's credentials only, and the child has
            // no other thread (glibc's wrappers would try to signal the parent's threads).
            if (syscall(SYS_setgroups, 0, NULL) != 0) fail(report, GALE_SPAWN_GROUPS, errno);
            if (syscall(SYS_setresgid, request->gid, request->gid, request->gid) != 0) {
                fail(report, GALE_SPAWN_GID, errno);
            }
            if (syscall(SYS_setresuid, request->uid, request->uid, request->uid) != 0) {
                fail(report, GALE_SPAWN_UID, errno);
            }
        }
        if (request->directory != NULL && chdir(request->directory) != 0) fail(report, GALE_SPAWN_DIRECTORY, errno);
        execve(request->path, request->argv, request->envp);
        fail(report, GALE_SPAWN_EXEC, errno);
    }
    int fork_error = errno;
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    close(pipe_fds[1]);
    if (pid < 0) {
        close(pipe_fds[0]);
        *failed_step = GALE_SPAWN_FORK;
        *error = fork_error;
        return -1;
    }
    // End of file: execve closed the pipe (close-on-exec). A message: a step failed.
    int message[2];
    ssize_t n;
    do {
        n = read(pipe_fds[0], message, sizeof message);
    } while (n < 0 && errno == EINTR);
    close(pipe_fds[0]);
    if (n == 0) return pid;
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (n == (ssize_t)sizeof message) {
        *failed_step = message[0];
        *error = message[1];
    } else {
        *failed_step = GALE_SPAWN_EXEC;
        *error = n < 0 ? errno : EIO;
    }
    return -1;
}

enum { max_depth = 64 };

/// Removes the entry `name` of the directory `parent` and, for a directory, what is below it.
static int remove_entry(int parent, const char *name, int depth) {
    if (unlinkat(parent, name, 0) == 0 || errno == ENOENT) return 0;
    // Linux answers EISDIR for a directory.
    if (errno != EISDIR) return -1;
    if (depth >= max_depth) {
        errno = ELOOP;
        return -1;
    }
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? 0 : -1;
    DIR *directory = fdopendir(fd);
    if (directory == NULL) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    int result = 0, first_error = 0;
    // Passes until a pass finds the directory empty: entries removed while reading may make
    // readdir skip others. A pass that removes nothing ends it too (what is left stays).
    for (;;) {
        int seen = 0, removed = 0;
        rewinddir(directory);
        struct dirent *entry;
        while ((entry = readdir(directory)) != NULL) {
            if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
            seen++;
            if (remove_entry(dirfd(directory), entry->d_name, depth + 1) == 0) {
                removed++;
            } else if (first_error == 0) {
                first_error = errno;
            }
        }
        if (seen == 0 || removed == 0) break;
    }
    closedir(directory);
    if (unlinkat(parent, name, AT_REMOVEDIR) != 0 && errno != ENOENT) {
        result = -1;
        if (first_error == 0) first_error = errno;
    }
    if (first_error != 0) {
        errno = first_error;
        return -1;
    }
    return result;
}

int gale_remove_tree(const char *path) {
    return remove_entry(AT_FDCWD, path, 0);
}
