// SPDX-License-Identifier: MIT
/*
 * Request sequences against the vscanout-v1 server in this process. Each
 * input runs on a fresh wl_display with the protocol server listening on
 * a socket of its own (outputs configured but absent: no KMS device) and
 * up to three clients connected through that socket, as VMMs connect. The
 * input is decoded into operations: well-formed messages whose object,
 * opcode and arguments are fuzzed along each request's signature (new ids
 * are tracked, so a sequence can bind the manager, attach, build buffers
 * and commit), fds passed with them (memfds that pass for dma-bufs,
 * plain memfds, /dev/null, pipes, eventfds), raw bytes with any header,
 * hang-ups and reloads. The server is dispatched as the daemon's loop
 * does, and the clients' events are read and their fds closed.
 *
 * Held: no crash, no undefined behaviour, no leak of memory (LeakSanitizer)
 * or of fds (the process holds as many after the input as before), and
 * the server keeps serving: after every input a fresh client still binds
 * the manager and gets the answer to a sync.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <wayland-server-core.h>
#include <wayland-server-protocol.h>

#include <drm_fourcc.h>

#include "config/config.h"
#include "daemon/display.h"
#include "fake-dmabuf.h"
#include "fuzz-input.h"
#include "protocol/server.h"
#include "test.h"
#include "util/log.h"
#include "vgpu/vgpu.h"
#include "vscanout-v1-server-protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_CONNECTIONS 3
#define MAX_OBJECTS     64  /* tracked per connection */
#define MAX_OPS         256 /* per input */
#define MAX_WORDS       256 /* of one message */

/* Request opcodes of the core interfaces (the server headers name events only). */
enum {
	DISPLAY_SYNC = 0,
	DISPLAY_GET_REGISTRY = 1,
	REGISTRY_BIND = 0,
};

/* A 32-bit argument: mostly small, sometimes a value that means something, or anything. */
static uint32_t take_u32(struct input *in)
{
	static const uint32_t edges[] = {
		0,
		1,
		2,
		3,
		4,
		64,
		4096,
		16384,
		16385,
		65535,
		65536,
		0x7fffffff,
		0x80000000,
		0xffffffff,
		0xff000000,
		1024,
		1025,
		DRM_FORMAT_XRGB8888,
		DRM_FORMAT_ARGB8888,
		DRM_FORMAT_NV12,
		DRM_FORMAT_RGB565,
		(uint32_t)(DRM_FORMAT_MOD_INVALID >> 32),
		(uint32_t)DRM_FORMAT_MOD_INVALID,
	};
	uint32_t sel = (uint32_t)take(in, 1);
	if (sel < 0x80)
		return sel;
	if (sel < 0xc0)
		return (sel & 0x3f) << 8 | (uint32_t)take(in, 1);
	if (sel < 0xf0)
		return edges[(sel - 0xc0) % (sizeof(edges) / sizeof(edges[0]))];
	return (uint32_t)take(in, 4);
}

/* Interfaces a client may create objects of, by name (for wl_registry.bind). */
static const struct wl_interface *const known[] = {
	&wl_display_interface,          &wl_registry_interface,
	&wl_callback_interface,         &vscanout_manager_v1_interface,
	&vscanout_vgpu_v1_interface,    &vscanout_buffer_params_v1_interface,
	&vscanout_buffer_v1_interface,  &vscanout_input_v1_interface,
	&vscanout_control_v1_interface,
};

static const struct wl_interface *interface_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (strcmp(known[i]->name, name) == 0)
			return known[i];
	}
	return NULL;
}

/* The client end of one connection and the objects it created. */
struct connection {
	int fd; /* -1 when not connected */
	uint32_t next_id;
	int n_objects;
	uint32_t ids[MAX_OBJECTS];
	const struct wl_interface *interfaces[MAX_OBJECTS]; /* NULL: unknown to us */
};

struct run {
	struct wl_display *display;
	struct wl_event_loop *loop;
	struct protocol_server *server;
	struct vgpu_manager *vgpus;
	struct connection conns[MAX_CONNECTIONS];
};

static char socket_path[108];
static struct config config;
static struct display displays;

static void quiet_log(enum log_level level, const char *line, void *data)
{
}

static void quiet_wl_log(const char *fmt, va_list args)
{
}

static char dir[] = "/tmp/vscanout-fuzz-protocol-XXXXXX";

static void remove_dir(void)
{
	rmdir(dir);
}

/* Once per process: a directory for the socket, the configuration, no devices. */
static void setup(void)
{
	check(mkdtemp(dir) != NULL);
	atexit(remove_dir);
	snprintf(socket_path, sizeof(socket_path), "%s/vscanout-0", dir);
	char text[512];
	unsigned int uid = (unsigned int)getuid();
	snprintf(text, sizeof(text),
		 "[daemon]\nsocket = %s\n"
		 "[output Virtual-1]\nvgpu = a\n"
		 "[output Virtual-2]\nvgpu = c\ncursor = hidden\n"
		 "[vgpu a]\nallow-uid = %u\n"
		 "[vgpu b]\n"
		 "[vgpu c]\nallow-uid = %u\nclock = Virtual-2\nedid = generate\npoll = 5ms\n",
		 socket_path, uid, uid);
	config_init(&config);
	FILE *f = fmemopen(text, strlen(text), "r");
	check(f != NULL);
	check(config_parse(&config, f, "fuzz.conf") == 0);
	fclose(f);

	/* The daemon's displays without any KMS device: every output is absent. */
	wl_list_init(&displays.devices);
	wl_list_init(&displays.blanks);
	wl_list_init(&displays.first_frames);
	displays.config = &config;
	displays.schedule_fd = -1;

	/*
	 * Every message is formatted (clients' strings among them), then
	 * dropped; VSCANOUT_FUZZ_LOG=1 shows them, to see what an input does.
	 */
	if (getenv("VSCANOUT_FUZZ_LOG") == NULL) {
		log_set_sink(quiet_log, NULL);
		wl_log_set_handler_server(quiet_wl_log);
	}
	log_init(LOG_LEVEL_DEBUG);
}

static void dispatch(struct run *run)
{
	for (int i = 0; i < 4; i++) {
		wl_display_flush_clients(run->display);
		if (wl_event_loop_dispatch(run->loop, 0) < 0 && errno != EINTR)
			break;
	}
	wl_display_flush_clients(run->display);
}

/* Read whatever the server sent to c, closing the fds that came with it. */
static void drain(struct connection *c)
{
	while (c->fd >= 0) {
		char buf[4096];
		char control[CMSG_SPACE(sizeof(int) * 28)];
		struct iovec iov = {buf, sizeof(buf)};
		struct msghdr msg = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = control,
			.msg_controllen = sizeof(control),
		};
		ssize_t n = recvmsg(c->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		for (struct cmsghdr *cmsg = n >= 0 ? CMSG_FIRSTHDR(&msg) : NULL; cmsg != NULL;
		     cmsg = CMSG_NXTHDR(&msg, cmsg)) {
			if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
				continue;
			size_t n_fds = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			int fds[28];
			memcpy(fds, CMSG_DATA(cmsg), n_fds * sizeof(int));
			for (size_t i = 0; i < n_fds; i++)
				close(fds[i]);
		}
		if (n > 0)
			continue;
		if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			/* The server hung up (a protocol error): this end goes too. */
			close(c->fd);
			c->fd = -1;
		}
		return;
	}
}

static void track(struct connection *c, uint32_t id, const struct wl_interface *interface)
{
	if (c->n_objects < MAX_OBJECTS) {
		c->ids[c->n_objects] = id;
		c->interfaces[c->n_objects] = interface;
		c->n_objects++;
	}
}

static void connect_client(struct run *run, struct connection *c)
{
	*c = (struct connection){.fd = -1, .next_id = 2};
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	check(c->fd >= 0);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", socket_path);
	check(connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	track(c, 1, &wl_display_interface);
	/* The server accepts it. */
	dispatch(run);
}

static void hang_up(struct connection *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* An fd of a kind the input picks; -1 when none could be made. */
static int make_fd(struct input *in)
{
	int fds[2];
	switch (take(in, 1) % 6) {
	case 0:
	case 1: {
		uint64_t size = ((uint64_t)take_u32(in) + 4095) & ~(uint64_t)4095;
		return fake_dmabuf_create(size);
	}
	case 2: {
		int fd = memfd_create("fuzz", MFD_CLOEXEC);
		if (fd >= 0 && ftruncate(fd, 1 << 20) != 0) {
			close(fd);
			return -1;
		}
		return fd;
	}
	case 3:
		return open("/dev/null", O_RDWR | O_CLOEXEC);
	case 4:
		if (pipe2(fds, O_CLOEXEC) != 0)
			return -1;
		close(fds[1]);
		return fds[0];
	default:
		return eventfd(0, EFD_CLOEXEC);
	}
}

struct message {
	uint32_t words[MAX_WORDS];
	size_t n_words;
	int fds[4];
	int n_fds;
};

static void put(struct message *m, uint32_t word)
{
	if (m->n_words < MAX_WORDS)
		m->words[m->n_words++] = word;
}

static void put_bytes(struct message *m, const void *bytes, size_t len)
{
	size_t n_words = (len + 3) / 4;
	if (m->n_words + n_words > MAX_WORDS)
		return;
	memset(&m->words[m->n_words], 0, n_words * 4);
	memcpy(&m->words[m->n_words], bytes, len);
	m->n_words += n_words;
}

/* A string argument: a name that means something, or bytes of the input; NULL as 0. */
static void put_string(struct message *m, struct input *in, char *last, size_t last_size)
{
	static const char *const names[] = {
		"a",
		"b",
		"c",
		"nope",
		"vscanout_manager_v1",
		"vscanout_control_v1",
		"vscanout_vgpu_v1",
		"wl_callback",
		"",
	};
	uint32_t sel = (uint32_t)take(in, 1);
	char buf[64];
	size_t len;
	if (sel == 0xff) {
		put(m, 0); /* NULL */
		snprintf(last, last_size, "%s", "");
		return;
	}
	if (sel < 0xc0) {
		snprintf(buf, sizeof(buf), "%s", names[sel % (sizeof(names) / sizeof(names[0]))]);
		len = strlen(buf) + 1;
	} else {
		len = (sel & 0x3f) % sizeof(buf);
		for (size_t i = 0; i < len; i++)
			buf[i] = (char)take(in, 1);
		/* Mostly terminated as the wire wants, sometimes not. */
		if (len > 0 && (sel & 0x01))
			buf[len - 1] = '\0';
		else if (len == 0)
			buf[len++] = '\0';
	}
	put(m, (uint32_t)len);
	put_bytes(m, buf, len);
	snprintf(last, last_size, "%.*s", (int)len, buf);
}

/* A message to one of c's objects along its request's signature. */
static void build_request(struct message *m, struct connection *c, struct input *in)
{
	int slot = (int)(take(in, 1) % (uint64_t)c->n_objects);
	uint32_t id = c->ids[slot];
	const struct wl_interface *interface = c->interfaces[slot];
	put(m, id);
	put(m, 0); /* size and opcode, filled in below */
	if (interface == NULL || interface->method_count == 0) {
		m->words[1] = (uint32_t)take(in, 1) % 4;
		for (uint32_t n = (uint32_t)take(in, 1) % 4; n > 0; n--)
			put(m, take_u32(in));
		return;
	}
	/* One past the last opcode now and then: an invalid request. */
	uint32_t opcode = (uint32_t)take(in, 1) % ((uint32_t)interface->method_count + 1);
	m->words[1] = opcode;
	if (opcode >= (uint32_t)interface->method_count)
		return;

	const struct wl_message *request = &interface->methods[opcode];
	char last_string[64] = "";
	int arg = 0;
	for (const char *s = request->signature; *s != '\0'; s++) {
		if (*s == '?' || (*s >= '0' && *s <= '9'))
			continue;
		const struct wl_interface *type = request->types[arg++];
		switch (*s) {
		case 'i':
		case 'u':
		case 'f':
			put(m, take_u32(in));
			break;
		case 's':
			put_string(m, in, last_string, sizeof(last_string));
			break;
		case 'o': {
			uint32_t sel = (uint32_t)take(in, 1);
			if (sel == 0)
				put(m, 0);
			else if (sel == 0xff)
				put(m, take_u32(in));
			else
				put(m, c->ids[sel % (uint32_t)c->n_objects]);
			break;
		}
		case 'n': {
			uint32_t new_id = take(in, 1) < 0xf0 ? c->next_id++ : take_u32(in);
			put(m, new_id);
			track(c, new_id, type != NULL ? type : interface_by_name(last_string));
			break;
		}
		case 'a': {
			uint32_t len = (uint32_t)take(in, 1);
			uint8_t bytes[255];
			for (uint32_t i = 0; i < len; i++)
				bytes[i] = (uint8_t)take(in, 1);
			put(m, len);
			put_bytes(m, bytes, len);
			break;
		}
		case 'h':
			if (m->n_fds < 4) {
				int fd = make_fd(in);
				if (fd >= 0)
					m->fds[m->n_fds++] = fd;
			}
			break;
		}
	}
}

/* Raw words with a header the input makes up (sizes that lie included). */
static void build_raw(struct message *m, struct connection *c, struct input *in)
{
	put(m, take(in, 1) < 0xf0 ? c->ids[take(in, 1) % (uint64_t)c->n_objects] : take_u32(in));
	uint32_t n = (uint32_t)take(in, 1) % 16;
	uint32_t size = (take(in, 1) & 1) ? (2 + n) * 4 : (uint32_t)take(in, 2);
	put(m, size << 16 | (uint32_t)take(in, 1));
	for (; n > 0; n--)
		put(m, take_u32(in));
	if (take(in, 1) == 0xff && m->n_fds < 4) {
		int fd = make_fd(in);
		if (fd >= 0)
			m->fds[m->n_fds++] = fd;
	}
}

/* Send m on c (its fds passed and closed here), dispatching while the server is full. */
static void send_message(struct run *run, struct connection *c, struct message *m, bool raw)
{
	if (!raw)
		m->words[1] |= (uint32_t)(m->n_words * 4) << 16;
	char control[CMSG_SPACE(sizeof(m->fds))];
	struct iovec iov = {m->words, m->n_words * 4};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	if (m->n_fds > 0) {
		memset(control, 0, sizeof(control));
		msg.msg_control = control;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)m->n_fds);
		struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)m->n_fds);
		memcpy(CMSG_DATA(cmsg), m->fds, sizeof(int) * (size_t)m->n_fds);
	}
	for (int attempt = 0; attempt < 4 && c->fd >= 0; attempt++) {
		if (sendmsg(c->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
			break;
		if (errno != EAGAIN && errno != EINTR) {
			hang_up(c);
			break;
		}
		dispatch(run);
		drain(c);
	}
	for (int i = 0; i < m->n_fds; i++)
		close(m->fds[i]);
}

static void run_op(struct run *run, struct input *in)
{
	uint32_t op = (uint32_t)take(in, 1);
	struct connection *c = &run->conns[(op >> 3) % MAX_CONNECTIONS];
	struct message m = {.n_words = 0};

	switch (op & 7) {
	case 0:
	case 1:
	case 2:
	case 3:
	case 4:
		if (c->fd < 0)
			connect_client(run, c);
		build_request(&m, c, in);
		send_message(run, c, &m, false);
		break;
	case 5:
		if (c->fd < 0)
			connect_client(run, c);
		build_raw(&m, c, in);
		send_message(run, c, &m, true);
		break;
	case 6:
		hang_up(c);
		break;
	case 7:
		/* A reload with the same configuration: nothing moves, nothing breaks. */
		vgpu_manager_reconfigure(run->vgpus);
		break;
	}
	if (op & 0x80) {
		dispatch(run);
		for (int i = 0; i < MAX_CONNECTIONS; i++)
			drain(&run->conns[i]);
	}
}

/* A well-behaved client after the input: it binds the manager and gets a sync's answer. */
static void check_still_serving(struct run *run)
{
	struct connection c;
	connect_client(run, &c);
	/* get_registry(2), bind(1, "vscanout_manager_v1", 1, 3), sync(4) */
	struct message m = {.n_words = 0};
	put(&m, 1);
	put(&m, 12u << 16 | DISPLAY_GET_REGISTRY);
	put(&m, 2);
	send_message(run, &c, &m, true);
	m.n_words = 0;
	const char name[] = "vscanout_manager_v1";
	put(&m, 2);
	put(&m, 0);
	put(&m, 1);
	put(&m, sizeof(name));
	put_bytes(&m, name, sizeof(name));
	put(&m, 1);
	put(&m, 3);
	m.words[1] = (uint32_t)(m.n_words * 4) << 16 | REGISTRY_BIND;
	send_message(run, &c, &m, true);
	m.n_words = 0;
	put(&m, 1);
	put(&m, 12u << 16 | DISPLAY_SYNC);
	put(&m, 4);
	send_message(run, &c, &m, true);
	dispatch(run);

	/* wl_callback.done on object 4: header (4, size 12, opcode 0) and a serial. */
	uint32_t buf[1024];
	ssize_t n = recv(c.fd, buf, sizeof(buf), MSG_DONTWAIT);
	check(n >= 12);
	bool done = false;
	for (size_t at = 0; at + 2 <= (size_t)n / 4;) {
		uint32_t size = buf[at + 1] >> 16;
		if (size < 8 || size % 4 != 0)
			break;
		if (buf[at] == 4 && (buf[at + 1] & 0xffff) == WL_CALLBACK_DONE)
			done = true;
		at += size / 4;
	}
	check(done);
	hang_up(&c);
	dispatch(run);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool initialized;
	if (!initialized) {
		setup();
		initialized = true;
	}
	int fds_before = fake_dmabuf_count_fds();
	fake_dmabuf_reset();

	struct run run = {0};
	run.display = wl_display_create();
	check(run.display != NULL);
	run.loop = wl_display_get_event_loop(run.display);
	run.vgpus = vgpu_manager_create(&config, &displays);
	check(run.vgpus != NULL);
	run.server = protocol_server_create(run.display, &config, &displays, run.vgpus);
	check(run.server != NULL);
	for (int i = 0; i < MAX_CONNECTIONS; i++)
		run.conns[i].fd = -1;

	struct input in = {data, size};
	for (int i = 0; i < MAX_OPS && in.size > 0; i++)
		run_op(&run, &in);
	dispatch(&run);
	for (int i = 0; i < MAX_CONNECTIONS; i++) {
		drain(&run.conns[i]);
		hang_up(&run.conns[i]);
	}
	/* The server sees the hang-ups and lets the clients go. */
	dispatch(&run);
	check_still_serving(&run);

	protocol_server_destroy(run.server);
	vgpu_manager_destroy(run.vgpus);
	wl_display_destroy(run.display);
	check(fake_dmabuf_count_fds() == fds_before);
	return 0;
}
