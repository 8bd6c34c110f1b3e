// glibc's posix_spawn extensions that Swift's Glibc module does not show (it is built without
// _GNU_SOURCE). posix_spawn_file_actions_addclosefrom_np is in glibc since 2.34 (Debian 12: 2.36).
// Imported by the supervisor's worker launcher and the integration tests' process helper.
#ifndef GALE_CPOSIXSPAWN_SHIM_H
#define GALE_CPOSIXSPAWN_SHIM_H

#include <spawn.h>

/// Closes every descriptor >= from in the child, whatever its close-on-exec flag.
extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);

#endif
