/* SPDX-License-Identifier: MIT */
#ifndef VSCANOUT_QEMU_QMP_H
#define VSCANOUT_QEMU_QMP_H

#include <stddef.h>
#include <wayland-server-core.h>

/*
 * Hand QEMU a D-Bus display connection through its QMP socket: connect,
 * read the greeting, qmp_capabilities, getfd (the fd travels with the
 * command as SCM_RIGHTS) and add_client protocol=@dbus-display. Read as
 * the bytes come, never waiting on QEMU; the whole exchange has a
 * deadline (QEMU_QMP_TIMEOUT_MS).
 */

#define QEMU_QMP_TIMEOUT_MS 5000

struct qemu_qmp;

/*
 * error 0: QEMU took the connection; otherwise a negative errno and a
 * message naming the step (e.g. "connect /run/vm.qmp: No such file or
 * directory", "add_client: QEMU answered: ..."). The exchange is over
 * either way; destroy it (also from within this callback).
 */
typedef void (*qemu_qmp_done_fn)(void *data, int error, const char *message);

/* Start; fd (taken, closed by the exchange) is the end QEMU gets. NULL on allocation failure. */
struct qemu_qmp *qemu_qmp_attach(struct wl_event_loop *loop, const char *path, int fd,
				 qemu_qmp_done_fn done, void *data);

/* Stop and free; NULL is a no-op. */
void qemu_qmp_destroy(struct qemu_qmp *qmp);

/*
 * The kind of one QMP line: "QMP" (the greeting), "return", "error",
 * "event", or NULL when it is none of them or not a JSON object. For an
 * error, desc (desc_size bytes) gets its "desc" string (unescaped, cut).
 * Exposed for tests.
 */
const char *qemu_qmp_classify(const char *line, char *desc, size_t desc_size);

#endif
