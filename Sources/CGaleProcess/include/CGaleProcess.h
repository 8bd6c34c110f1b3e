// What the supervisor needs from the kernel that Swift cannot do safely: starting a worker
// process as another user (fork and exec, with only async-signal-safe calls between them), and
// removing a directory tree a worker may still be changing without following its symbolic links.
#ifndef GALE_CGALEPROCESS_H
#define GALE_CGALEPROCESS_H

#include <sys/types.h>

/// How gale_spawn starts a process.
typedef struct {
    /// The executable (an absolute path).
    const char *path;
    /// Arguments and environment, each ending with NULL.
    char *const *argv;
    char *const *envp;
    /// The working directory, entered after the user switch; NULL: the caller's.
    const char *directory;
    /// stdout and stderr are appended to this file (created with mode 0640 before the switch,
    /// so that it belongs to the caller).
    const char *log_file;
    /// Non-zero: clear the supplementary groups, then set the real, effective and saved group
    /// to gid and user to uid.
    int switch_user;
    uid_t uid;
    gid_t gid;
} gale_spawn_request;

/// The step of gale_spawn that failed.
typedef enum {
    GALE_SPAWN_PIPE = 1,
    GALE_SPAWN_FORK,
    GALE_SPAWN_SIGNALS,
    GALE_SPAWN_PROCESS_GROUP,
    GALE_SPAWN_STDIN,
    GALE_SPAWN_LOG,
    GALE_SPAWN_DESCRIPTORS,
    GALE_SPAWN_GROUPS,
    GALE_SPAWN_GID,
    GALE_SPAWN_UID,
    GALE_SPAWN_DIRECTORY,
    GALE_SPAWN_EXEC,
} gale_spawn_step;

/// Starts request->path in a child process that has: every signal's default disposition and an
/// empty signal mask, a process group of its own, stdin from /dev/null, stdout and stderr
/// appended to log_file, no other descriptor (every descriptor from 3 up is closed, whatever
/// its close-on-exec flag), the user and group of the request when switch_user is set, and
/// directory as its working directory.
///
/// Returns the child's pid once it has called execve. When a step fails before that, returns -1
/// with *failed_step (a gale_spawn_step) and *error (its errno) set; the child has exited and
/// been reaped then.
pid_t gale_spawn(const gale_spawn_request *request, int *failed_step, int *error);

/// Removes path and everything below it. Works through directory descriptors (openat,
/// unlinkat) and never follows a symbolic link, so a tree whose owner keeps renaming or
/// replacing its entries cannot redirect the removal outside it; gives up below 64 levels.
/// Returns 0 (also when path does not exist) or -1 with errno of the first failure (ELOOP for
/// a tree too deep); removes what it can either way.
int gale_remove_tree(const char *path);

#endif
