/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_CTL_OUTFILE_H
#define VSCANOUT_CTL_OUTFILE_H

#include <stddef.h>

/*
 * Write `size` bytes of `data` to the file at `path`, replacing it as a
 * whole. The bytes go to a new file beside it, created with mode 0600
 * (readable by its owner only, whatever the umask allows beyond that) under
 * a random name with O_CREAT | O_EXCL | O_NOFOLLOW, so no existing file and
 * no symbolic link is ever written through; the file is flushed to disk and
 * renamed over `path`. An existing file at `path` is replaced by the new
 * one (its owner and mode are not kept); a symbolic link at `path` is
 * replaced itself, its target stays untouched.
 *
 * On failure nothing is left behind and `path` is as it was. Returns 0 or a
 * negative errno, with what failed written to `err` (at most err_size bytes,
 * NUL-terminated).
 */
int outfile_write(const char *path, const void *data, size_t size, char *err, size_t err_size);

#endif
