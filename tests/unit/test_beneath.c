/*
 * Unit tests for beneath_open_compat(), the walk in user space that
 * beneath_open() uses where openat2(2) is missing: on a tree of files,
 * directories and symbolic links (inside, out through "..", absolute, loops,
 * dangling, chains of 40 and 41, deeper than the walk's stack), and on procfs
 * with its magic links, it must give what openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_MAGICLINKS) gives for every path of a generated list: the
 * same errno, or a descriptor of the same inode; and it must leave no
 * descriptor open but the one it returns.
 */

#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/openat2.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pfhttpd.h"

#define NOBODY_UID  65534 /* owner of a link another user planted */
#define DEEP_LEVELS 70	  /* levels under deep/: more than the walk's 64 */

/* The flags file.c opens with, and the ones a caller might add. */
static const int test_flags[] = {
    O_RDONLY | O_NONBLOCK,
    O_PATH,
    O_PATH | O_NOFOLLOW,
    O_RDONLY | O_NONBLOCK | O_NOFOLLOW,
    O_RDONLY | O_DIRECTORY,
};
#define NFLAGS (sizeof(test_flags) / sizeof(test_flags[0]))

/* The names paths are made of: files, directories and links of the tree. */
static const char *const test_names[] = {
    "",
    ".",
    "..",
    "file.txt",
    "dir",
    "sub",
    "inner.txt",
    "deep.txt",
    "empty_dir",
    "noexec",
    "x.txt",
    "fifo",
    "nonexistent",
    "root",
    "outside.txt",
    "l_file",
    "l_dir",
    "l_dot",
    "l_dotdot",
    "l_in_up",
    "l_parent",
    "l_grand",
    "l_out",
    "l_back",
    "l_abs",
    "l_abs_in",
    "l_out_rel",
    "l_out_in",
    "l_loop1",
    "l_self",
    "l_dangling",
    "l_dangling_dir",
    "l_trailing",
    "l_file_slash",
    "l_to_link_dir",
    "l_deep",
    "l_dotslash",
    "l_noexec",
    "l_fifo",
    "l_long",
    "l_long_dir",
    "c00",
    "d00",
    "sticky",
    "l_other",
    "l_mine",
};
#define NNAMES (sizeof(test_names) / sizeof(test_names[0]))

/* Paths worth a look of their own. */
static const char *const test_paths[] = {
    "/",
    "/file.txt",
    "//file.txt",
    "./file.txt",
    ".//file.txt",
    "dir//inner.txt",
    "dir/./inner.txt",
    "dir/../..",
    "dir/../../root/file.txt",
    "dir/sub/../../file.txt",
    "dir/sub/../../../outside.txt",
    "file.txt/",
    "file.txt/.",
    "file.txt/..",
    "dir/.",
    "dir/..",
    "dir/sub/l_out",
    "dir/sub/l_back",
    "dir/l_grand/outside.txt",
    "dir/l_parent",
    "l_dir/l_parent",
    "l_dir/sub/l_back",
    "l_dir/sub/../../file.txt",
    "l_dir/../..",
    "l_dot/l_dot/l_dot/file.txt",
    "l_dot/..",
    "l_trailing/inner.txt",
    "l_trailing/..",
    "l_to_link_dir/deep.txt",
    "l_to_link_dir/../inner.txt",
    "l_to_link_dir/../../..",
    "noexec/x.txt",
    "sticky/l_other",
    "sticky/l_other/",
    "sticky/l_mine",
    "sticky/l_dir_other/inner.txt",
    "c00",
    "c20",
    "d00",
    "d01",
    "l_long",
    "l_long_dir/file.txt",
};
#define NPATHS (sizeof(test_paths) / sizeof(test_paths[0]))

static char test_top[64];    /* the temporary directory */
static int test_rootfd = -1; /* test_top/root, O_PATH */
static int test_mismatches;  /* disagreements seen by test_compare() */

/* Create a symbolic link at root/name with the given body. */
static void
test_link(const char *body, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/root/%s", test_top, name);
	assert_int_equal(symlink(body, path), 0);
}

/* Create the file root/name (or a name outside with a leading "../"). */
static void
test_file(const char *name)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/root/%s", test_top, name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(fd != -1);
	assert_int_equal(write(fd, name, strlen(name)), (ssize_t)strlen(name));
	close(fd);
}

/* Create the directory root/name with mode. */
static void
test_dir(const char *name, mode_t mode)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/root/%s", test_top, name);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* Build the tree under a new temporary directory. */
static int
test_setup(void **state)
{
	char path[PATH_MAX], body[PATH_MAX], name[16];
	size_t i;

	(void)state;
	snprintf(test_top, sizeof(test_top), "/tmp/pfhttpd-beneath-XXXXXX");
	if (mkdtemp(test_top) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/root", test_top);
	if (mkdir(path, 0755) == -1)
		return -1;
	test_file("../outside.txt");
	test_dir("../outdir", 0755);
	test_file("file.txt");
	test_dir("dir", 0755);
	test_file("dir/inner.txt");
	test_dir("dir/sub", 0755);
	test_file("dir/sub/deep.txt");
	test_dir("empty_dir", 0755);
	test_dir("noexec", 0755);
	test_file("noexec/x.txt");
	snprintf(path, sizeof(path), "%s/root/noexec", test_top);
	assert_int_equal(chmod(path, 0600), 0); /* no search permission */
	snprintf(path, sizeof(path), "%s/root/fifo", test_top);
	assert_int_equal(mkfifo(path, 0644), 0);

	test_link("file.txt", "l_file");
	test_link("dir", "l_dir");
	test_link(".", "l_dot");
	test_link("..", "l_dotdot");
	test_link("dir/../file.txt", "l_in_up");
	test_link("../file.txt", "dir/l_parent");
	test_link("../..", "dir/l_grand");
	test_link("../../../outside.txt", "dir/sub/l_out");
	test_link("../../dir/sub/deep.txt", "dir/sub/l_back");
	test_link("/etc/passwd", "l_abs");
	snprintf(body, sizeof(body), "%s/root/file.txt", test_top);
	test_link(body, "l_abs_in");
	test_link("../outside.txt", "l_out_rel");
	test_link("../root/file.txt", "l_out_in");
	test_link("l_loop2", "l_loop1");
	test_link("l_loop1", "l_loop2");
	test_link("l_self", "l_self");
	test_link("nonexistent", "l_dangling");
	test_link("nonexistent/", "l_dangling_dir");
	test_link("dir/", "l_trailing");
	test_link("file.txt/", "l_file_slash");
	test_link("l_dir/sub", "l_to_link_dir");
	test_link("dir/sub/../../dir/./sub/deep.txt", "l_deep");
	test_link("./file.txt", "l_dotslash");
	test_link("noexec/x.txt", "l_noexec");
	test_link("fifo", "l_fifo");

	/* A body as long as a body may be: "./" many times, then a name. */
	memset(body, 0, sizeof(body));
	for (i = 0; i + 2 < PATH_MAX - 1 - strlen("file.txt"); i += 2)
		memcpy(body + i, "./", 2);
	strcpy(body + i, "file.txt");
	test_link(body, "l_long");
	body[i] = '\0';
	test_link(body, "l_long_dir");

	/* c00 -> c01 -> ... -> c39 -> file.txt: 40 links, the most. */
	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "c%02zu", i);
		snprintf(body, sizeof(body), "c%02zu", i + 1);
		test_link(i == 39 ? "file.txt" : body, name);
	}
	/* d00 -> ... -> d40 -> file.txt: 41 links, one too many. */
	for (i = 0; i < 41; i++) {
		snprintf(name, sizeof(name), "d%02zu", i);
		snprintf(body, sizeof(body), "d%02zu", i + 1);
		test_link(i == 40 ? "file.txt" : body, name);
	}

	/* fs.protected_symlinks: another user's link in a sticky,
	 * world-writable directory is not followed (needs root to plant). */
	test_dir("sticky", 01777);
	test_link("../file.txt", "sticky/l_mine");
	test_link("../file.txt", "sticky/l_other");
	test_link("../dir", "sticky/l_dir_other");
	if (geteuid() == 0) {
		snprintf(
		    path, sizeof(path), "%s/root/sticky/l_other", test_top);
		assert_int_equal(lchown(path, NOBODY_UID, NOBODY_UID), 0);
		snprintf(
		    path, sizeof(path), "%s/root/sticky/l_dir_other", test_top);
		assert_int_equal(lchown(path, NOBODY_UID, NOBODY_UID), 0);
	}

	/* deep/d/d/.../d/file.txt: DEEP_LEVELS directories below deep. */
	snprintf(body, sizeof(body), "deep");
	test_dir(body, 0755);
	for (i = 0; i < DEEP_LEVELS; i++) {
		strcat(body, "/d");
		test_dir(body, 0755);
	}
	strcat(body, "/file.txt");
	test_file(body);

	snprintf(path, sizeof(path), "%s/root", test_top);
	test_rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return test_rootfd == -1 ? -1 : 0;
}

/* Remove one entry of the tree (nftw callback). */
static int
test_remove_entry(
    const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		return rmdir(path);
	return unlink(path);
}

/* Remove the tree. */
static int
test_teardown(void **state)
{
	char path[PATH_MAX];

	(void)state;
	if (test_rootfd != -1)
		close(test_rootfd);
	snprintf(path, sizeof(path), "%s/root/noexec", test_top);
	chmod(path, 0755);
	return nftw(test_top, test_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* openat2 as beneath_open() calls it: the reference. */
static int
test_openat2(int dirfd, const char *path, int flags)
{
	struct open_how how;

	memset(&how, 0, sizeof(how));
	how.flags = (unsigned long long)flags;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

/* Skip the test where openat2 is missing: there is nothing to compare. */
static void
test_need_openat2(void)
{
	int fd;

	if ((fd = test_openat2(AT_FDCWD, ".", O_PATH)) == -1 &&
	    errno == ENOSYS) {
		print_message("openat2(2) is missing: nothing to compare\n");
		skip();
	}
	if (fd != -1)
		close(fd);
}

/* Compare both ways to open path beneath dirfd with flags; count and
 * print a disagreement. */
static void
test_compare(int dirfd, const char *path, int flags)
{
	struct stat st_want, st_got;
	int want, got, want_errno, got_errno;

	want = test_openat2(dirfd, path, flags | O_CLOEXEC);
	want_errno = errno;
	got = beneath_open_compat(dirfd, path, flags | O_CLOEXEC);
	got_errno = errno;
	if (want == -1 && got == -1) {
		if (want_errno != got_errno) {
			print_error(
			    "%.60s (flags %#o): openat2 %s, compat %s\n", path,
			    flags, strerror(want_errno), strerror(got_errno));
			test_mismatches++;
		}
		return;
	}
	if (want == -1 || got == -1) {
		print_error("%.60s (flags %#o): openat2 %s, compat %s\n", path,
		    flags, want == -1 ? strerror(want_errno) : "opens",
		    got == -1 ? strerror(got_errno) : "opens");
		test_mismatches++;
	} else {
		assert_int_equal(fstat(want, &st_want), 0);
		assert_int_equal(fstat(got, &st_got), 0);
		if (st_want.st_dev != st_got.st_dev ||
		    st_want.st_ino != st_got.st_ino) {
			print_error(
			    "%.60s (flags %#o): another inode\n", path, flags);
			test_mismatches++;
		}
	}
	if (want != -1)
		close(want);
	if (got != -1)
		close(got);
}

/* Compare path under every flag set. */
static void
test_compare_flags(int dirfd, const char *path)
{
	size_t f;

	for (f = 0; f < NFLAGS; f++)
		test_compare(dirfd, path, test_flags[f]);
}

/* Every name, alone and with a trailing slash. */
static void
test_agrees_on_every_name(void **state)
{
	char path[PATH_MAX];
	size_t i;

	(void)state;
	test_need_openat2();
	test_mismatches = 0;
	for (i = 0; i < NNAMES; i++) {
		test_compare_flags(test_rootfd, test_names[i]);
		snprintf(path, sizeof(path), "%s/", test_names[i]);
		test_compare_flags(test_rootfd, path);
	}
	assert_int_equal(test_mismatches, 0);
}

/* Every pair of names, and every triple of a few of them. */
static void
test_agrees_on_every_pair_and_some_triples(void **state)
{
	char path[PATH_MAX];
	size_t i, j, k;

	(void)state;
	test_need_openat2();
	test_mismatches = 0;
	for (i = 0; i < NNAMES; i++)
		for (j = 0; j < NNAMES; j++) {
			snprintf(path, sizeof(path), "%s/%s", test_names[i],
			    test_names[j]);
			test_compare_flags(test_rootfd, path);
		}
	/* Triples of the names that lead somewhere: "..", dirs, links. */
	for (i = 1; i < 8; i++)
		for (j = 15; j < 24; j++)
			for (k = 0; k < NNAMES; k += 3) {
				snprintf(path, sizeof(path), "%s/%s/%s",
				    test_names[j], test_names[i],
				    test_names[k]);
				test_compare_flags(test_rootfd, path);
			}
	assert_int_equal(test_mismatches, 0);
}

/* The paths listed for a look of their own. */
static void
test_agrees_on_chosen_paths(void **state)
{
	size_t i;

	(void)state;
	test_need_openat2();
	test_mismatches = 0;
	for (i = 0; i < NPATHS; i++)
		test_compare_flags(test_rootfd, test_paths[i]);
	assert_int_equal(test_mismatches, 0);
}

/* Too long: a path of PATH_MAX bytes, a name over NAME_MAX. */
static void
test_agrees_on_names_and_paths_too_long(void **state)
{
	char path[PATH_MAX + 16];

	(void)state;
	test_need_openat2();
	test_mismatches = 0;
	memset(path, 0, sizeof(path));
	memset(path, 'a', NAME_MAX + 1);
	test_compare_flags(test_rootfd, path);
	memset(path, 0, sizeof(path));
	while (strlen(path) + 2 <= PATH_MAX)
		strcat(path, "./");
	test_compare_flags(test_rootfd, path); /* PATH_MAX bytes */
	path[PATH_MAX - 2] = '\0';
	test_compare_flags(test_rootfd, path); /* PATH_MAX - 2 bytes */
	assert_int_equal(test_mismatches, 0);
}

/* What each way says, asserted on its own (whatever the kernel). */
static void
test_compat_refuses_escapes_and_follows_links_inside(void **state)
{
	int fd;

	(void)state;
	fd = beneath_open_compat(test_rootfd, "l_deep", O_RDONLY);
	assert_true(fd != -1);
	close(fd);
	fd = beneath_open_compat(test_rootfd, "c00", O_RDONLY);
	assert_true(fd != -1);
	close(fd);
	errno = 0;
	assert_int_equal(beneath_open_compat(test_rootfd, "d00", O_RDONLY), -1);
	assert_int_equal(errno, ELOOP);
	assert_int_equal(
	    beneath_open_compat(test_rootfd, "l_loop1", O_RDONLY), -1);
	assert_int_equal(errno, ELOOP);
	assert_int_equal(
	    beneath_open_compat(test_rootfd, "dir/sub/l_out", O_RDONLY), -1);
	assert_int_equal(errno, EXDEV);
	assert_int_equal(
	    beneath_open_compat(test_rootfd, "l_abs_in", O_RDONLY), -1);
	assert_int_equal(errno, EXDEV);
	assert_int_equal(
	    beneath_open_compat(test_rootfd, "l_out_in", O_RDONLY), -1);
	assert_int_equal(errno, EXDEV);
	assert_int_equal(
	    beneath_open_compat(test_rootfd, "dir/../..", O_RDONLY), -1);
	assert_int_equal(errno, EXDEV);
	assert_int_equal(
	    beneath_open_compat(test_rootfd, "l_dangling", O_RDONLY), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(
	    beneath_open_compat(test_rootfd, "l_file_slash", O_RDONLY), -1);
	assert_int_equal(errno, ENOTDIR);
}

/* Write to path the way down to the bottom of deep/, then ups "..". */
static void
test_deep_path(char *path, size_t size, int ups)
{
	int i;

	snprintf(path, size, "deep");
	for (i = 0; i < DEEP_LEVELS; i++)
		strcat(path, "/d");
	for (i = 0; i < ups; i++)
		strcat(path, "/..");
}

/* Deeper than the walk keeps on its stack: down, back up, and out. */
static void
test_agrees_on_paths_deeper_than_the_inline_stack(void **state)
{
	char path[PATH_MAX];

	(void)state;
	test_need_openat2();
	test_mismatches = 0;
	test_deep_path(path, sizeof(path), 0);
	strcat(path, "/file.txt");
	test_compare_flags(test_rootfd, path);
	test_deep_path(path, sizeof(path), DEEP_LEVELS + 1);
	test_compare_flags(test_rootfd, path); /* the root */
	strcat(path, "/deep/d/../../file.txt");
	test_compare_flags(test_rootfd, path);
	test_deep_path(path, sizeof(path), DEEP_LEVELS + 2);
	test_compare_flags(test_rootfd, path); /* one ".." too many */
	assert_int_equal(test_mismatches, 0);
}

/* The number of descriptors the process has open. */
static int
test_open_fds(void)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	d = opendir("/proc/self/fd");
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Walk path with every flag set and close what opens. */
static void
test_walk_and_close(const char *path)
{
	size_t f;
	int fd;

	for (f = 0; f < NFLAGS; f++)
		if ((fd = beneath_open_compat(
			 test_rootfd, path, test_flags[f] | O_CLOEXEC)) != -1)
			close(fd);
}

/* Whatever a walk ends in, it leaves no descriptor open but its result. */
static void
test_compat_leaks_no_descriptor(void **state)
{
	char path[PATH_MAX];
	size_t i, j;
	int before;

	(void)state;
	before = test_open_fds();
	for (i = 0; i < NNAMES; i++) {
		for (j = 0; j < NNAMES; j++) {
			snprintf(path, sizeof(path), "%s/%s", test_names[i],
			    test_names[j]);
			test_walk_and_close(path);
		}
		snprintf(path, sizeof(path), "%s/", test_names[i]);
		test_walk_and_close(path);
	}
	for (i = 0; i < NPATHS; i++)
		test_walk_and_close(test_paths[i]);
	test_deep_path(path, sizeof(path), DEEP_LEVELS + 2);
	test_walk_and_close(path);
	assert_int_equal(test_open_fds(), before);
}

/* procfs: the magic links (exe, cwd, fd/N, ns/net) are ELOOP both ways,
 * the plain links (self, mounts, net) are followed. */
static void
test_agrees_on_procfs_magic_links(void **state)
{
	static const char *const self_paths[] = {"exe", "cwd", "root", "fd",
	    "fd/0", "fd/1", "status", "ns", "ns/net", "cwd/..", "task", "..",
	    "../self", "root/etc/passwd", "attr/current"};
	static const char *const proc_paths[] = {"self", "self/exe",
	    "self/status", "self/cwd", "thread-self", "thread-self/comm",
	    "mounts", "net", "net/dev", "self/fd/0", "self/root/etc",
	    "self/ns/mnt", "1/exe"};
	char path[64];
	int selffd, procfd, pipefd[2];
	size_t i;

	(void)state;
	test_need_openat2();
	test_mismatches = 0;
	selffd = open("/proc/self", O_PATH | O_DIRECTORY | O_CLOEXEC);
	procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(selffd != -1 && procfd != -1);
	assert_int_equal(pipe(pipefd), 0);
	for (i = 0; i < sizeof(self_paths) / sizeof(self_paths[0]); i++)
		test_compare_flags(selffd, self_paths[i]);
	snprintf(path, sizeof(path), "fd/%d", pipefd[0]);
	test_compare_flags(selffd, path);
	snprintf(path, sizeof(path), "fd/%d", test_rootfd);
	test_compare_flags(selffd, path);
	snprintf(path, sizeof(path), "fd/%d/file.txt", test_rootfd);
	test_compare_flags(selffd, path);
	for (i = 0; i < sizeof(proc_paths) / sizeof(proc_paths[0]); i++)
		test_compare_flags(procfd, proc_paths[i]);
	close(pipefd[0]);
	close(pipefd[1]);
	close(selffd);
	close(procfd);
	assert_int_equal(test_mismatches, 0);
}

/* Run the tests. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_agrees_on_every_name),
	    cmocka_unit_test(test_agrees_on_every_pair_and_some_triples),
	    cmocka_unit_test(test_agrees_on_chosen_paths),
	    cmocka_unit_test(test_agrees_on_names_and_paths_too_long),
	    cmocka_unit_test(
		test_compat_refuses_escapes_and_follows_links_inside),
	    cmocka_unit_test(test_agrees_on_procfs_magic_links),
	    cmocka_unit_test(test_agrees_on_paths_deeper_than_the_inline_stack),
	    cmocka_unit_test(test_compat_leaks_no_descriptor),
	};

	return cmocka_run_group_tests(tests, test_setup, test_teardown);
}
