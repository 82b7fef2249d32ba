// SPDX-License-Identifier: MIT
/*
 * How vscanoutctl writes a screenshot to FILE (src/ctl/outfile.c):
 *
 *  - a new file has mode 0600 whatever the umask, and exactly the bytes;
 *  - an existing file (mode 0644, longer) is replaced by such a file;
 *  - a symbolic link at FILE is replaced, its target left as it was; a
 *    dangling one creates nothing where it points;
 *  - a failed rename (FILE is a folder) or write (over the file size
 *    limit) leaves no file behind and FILE as it was; so does a folder
 *    that does not exist;
 *  - a bare name is written in the working folder.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/ctl/outfile.h"
#include "test.h"

static char dir[] = "/tmp/vscanout-outfile-XXXXXX";

static const char png[] = "\x89PNG\r\n\x1a\n pretend this is a picture";

static void path_in(char *buf, size_t size, const char *name)
{
	check(snprintf(buf, size, "%s/%s", dir, name) < (int)size);
}

/* The file's whole contents, NUL-terminated (static buffer). */
static const char *contents(const char *path)
{
	static char buf[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	check(fd >= 0);
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	check(n >= 0);
	buf[n] = '\0';
	close(fd);
	return buf;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	check(fd >= 0);
	check(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	check(fchmod(fd, mode) == 0);
	close(fd);
}

/* Entries of the test folder, . and .. aside. */
static int entries(void)
{
	DIR *d = opendir(dir);
	check(d != NULL);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

static void check_written(const char *path)
{
	struct stat st;
	check(lstat(path, &st) == 0);
	check(S_ISREG(st.st_mode));
	check_int_eq(st.st_mode & 07777, 0600);
	check_int_eq(st.st_size, sizeof(png) - 1);
	check_str_eq(contents(path), png);
}

int main(void)
{
	char err[512], path[PATH_MAX], target[PATH_MAX], sub[PATH_MAX];
	check(mkdtemp(dir) != NULL);
	/* The mode must not come from the umask. */
	umask(0);

	/* A new file. */
	path_in(path, sizeof(path), "new.png");
	check_int_eq(outfile_write(path, png, sizeof(png) - 1, err, sizeof(err)), 0);
	check_written(path);
	check_int_eq(entries(), 1);

	/* An existing, world-readable, longer file. */
	path_in(path, sizeof(path), "old.png");
	write_file(path, "an older and much longer file than the picture written over it", 0644);
	check_int_eq(outfile_write(path, png, sizeof(png) - 1, err, sizeof(err)), 0);
	check_written(path);
	check_int_eq(entries(), 2);

	/* A symbolic link to another file: replaced, the target untouched. */
	path_in(target, sizeof(target), "target");
	write_file(target, "precious", 0644);
	path_in(path, sizeof(path), "link.png");
	check(symlink(target, path) == 0);
	check_int_eq(outfile_write(path, png, sizeof(png) - 1, err, sizeof(err)), 0);
	check_written(path);
	check_str_eq(contents(target), "precious");
	struct stat st;
	check(stat(target, &st) == 0 && (st.st_mode & 07777) == 0644);
	check_int_eq(entries(), 4);

	/* A dangling link: nothing appears where it points. */
	path_in(target, sizeof(target), "nowhere");
	path_in(path, sizeof(path), "dangling.png");
	check(symlink(target, path) == 0);
	check_int_eq(outfile_write(path, png, sizeof(png) - 1, err, sizeof(err)), 0);
	check_written(path);
	check(lstat(target, &st) != 0 && errno == ENOENT);
	check_int_eq(entries(), 5);

	/* FILE is a folder: the rename fails, nothing is left behind. */
	path_in(sub, sizeof(sub), "folder");
	check(mkdir(sub, 0755) == 0);
	char inside[PATH_MAX + 16];
	snprintf(inside, sizeof(inside), "%s/keep", sub);
	write_file(inside, "keep", 0644);
	check_int_eq(outfile_write(sub, png, sizeof(png) - 1, err, sizeof(err)), -EISDIR);
	check_contains(err, "cannot replace ");
	check_contains(err, sub);
	check(stat(sub, &st) == 0 && S_ISDIR(st.st_mode));
	check_int_eq(entries(), 6);

	/* The write fails (file size limit): nothing is left, the old file stays. */
	path_in(path, sizeof(path), "old.png");
	write_file(path, "kept", 0644);
	signal(SIGXFSZ, SIG_IGN);
	struct rlimit old_limit, limit = {.rlim_cur = 8, .rlim_max = RLIM_INFINITY};
	check(getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
	limit.rlim_max = old_limit.rlim_max;
	check(setrlimit(RLIMIT_FSIZE, &limit) == 0);
	check_int_eq(outfile_write(path, png, sizeof(png) - 1, err, sizeof(err)), -EFBIG);
	check(setrlimit(RLIMIT_FSIZE, &old_limit) == 0);
	check_contains(err, "cannot write ");
	check_str_eq(contents(path), "kept");
	check_int_eq(entries(), 6);

	/* A folder that does not exist. */
	path_in(path, sizeof(path), "none/shot.png");
	check_int_eq(outfile_write(path, png, sizeof(png) - 1, err, sizeof(err)), -ENOENT);
	check_contains(err, "cannot open the folder ");
	check_int_eq(entries(), 6);

	/* A bare name: the working folder. */
	check(chdir(dir) == 0);
	check_int_eq(outfile_write("bare.png", png, sizeof(png) - 1, err, sizeof(err)), 0);
	path_in(path, sizeof(path), "bare.png");
	check_written(path);
	check_int_eq(entries(), 7);

	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	check(system(cmd) == 0);
	printf("ok\n");
	return 0;
}
