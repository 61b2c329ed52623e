/*
 * Unit tests for shm.c and the layout shm.h documents: the sizes of the
 * shared structures, the offsets of the slots and rings for several slot
 * counts and ring sizes, shm_create() and shm_attach() on a file in a
 * private mkdtemp directory (and what attach refuses), the addresses of
 * slots and rings, the sums of counters, and shm_master_alive().
 *
 * The expected sizes and offsets are worked out by hand below from shm.h,
 * not asked of the code under test:
 *
 *   struct shm_counters  13 + 5 + 12 + 9 + 32 + 600 = 671 uint64_t:
 *                        5368 bytes (the 12: chat; the 9: TLS)
 *   struct shm_header    192 bytes of fields and padding, then
 *                        sh_retired: 5560, rounded up to 64: 5568
 *   struct shm_slot      64 bytes of identity, then ss_c: 5432,
 *                        rounded up to 64: 5440
 *   struct shm_ring      rg_head and rg_tail on a line each: 128
 *   struct shm_chat      8 + 9 uint64_t, 2 uint32_t, the journal (9
 *                        uint64_t), the Redis link (13 uint64_t): 320
 *
 *   slots offset         the header rounded up to a line: 5568
 *   rings offset         slots offset + nslots * 5440, rounded up to a
 *                        page (4096), so that each ring starts on a page
 *   ring stride          128 + ring size, rounded up to a page
 *   chat offset          rings offset + nslots * ring stride (a page)
 *   the chat region      with chat_geom below: struct shm_chat and
 *                        nslots 64-byte wake flags, to a page (4096 up to
 *                        59 slots); nslots chat-in rings of 128 + 4096,
 *                        a page each: 8192; the broadcast ring, 64 +
 *                        131072, to a page: 135168; 2 rooms of 128 and 4
 *                        members of 96, to a page: 4096; the history, 2
 *                        rooms * 2 * 3 entries (twice the history) of
 *                        32 + 177 (the longest out-record of a 64-byte
 *                        text) rounded to 256, to a page: 4096
 *   segment size         the end of the history
 */

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "pfhttpd.h"
#include "shm.h"

#define HEADER_SIZE   5632 /* sizeof(struct shm_header), by hand */
#define SLOT_SIZE     5504 /* sizeof(struct shm_slot) */
#define RING_SIZE     128  /* sizeof(struct shm_ring) */
#define COUNTERS_SIZE 5416 /* sizeof(struct shm_counters) */
#define IPGROUP_SIZE  320  /* sizeof(struct shm_ipgroup): 64 + 8 * 32 */
#define CHAT_SIZE     320  /* sizeof(struct shm_chat) */
#define PAGE	      4096

#define NSLOTS	  4    /* the segment of the tests that need one */
#define RING	  4096 /* its ring size, the smallest allowed */
#define IP_GROUPS 4    /* address table groups: 4 * 320 bytes, one page */

/* A geometry and the layout worked out by hand for it. */
struct layout {
	uint32_t ly_nslots;	  /* slots */
	uint64_t ly_ring_size;	  /* data bytes per ring */
	uint64_t ly_rings_offset; /* first ring */
	uint64_t ly_ring_stride;  /* ring to ring */
	uint64_t ly_chat_offset;  /* the chat region */
	uint64_t ly_size;	  /* the segment */
};

/* The chat region's size for n slots (up to 60), as worked out above. */
#define CHAT_REGION(n) (4096 + (n)*8192 + 135168 + 4096 + 4096)
/* The address table after it: IP_GROUPS groups in one page. */
#define IP_REGION 4096

static const struct layout layouts[] = {
    /* 5632 + 5504 = 11136 -> 12288; 128 + 4096 -> 8192 */
    {1, 4096, 12288, 8192, 12288 + 1 * 8192,
	12288 + 1 * 8192 + CHAT_REGION(1) + IP_REGION},
    /* 5632 + 3 * 5504 = 22144 -> 24576; 128 + 65536 -> 69632 */
    {3, 65536, 24576, 69632, 24576 + 3 * 69632,
	24576 + 3 * 69632 + CHAT_REGION(3) + IP_REGION},
    /* 5632 + 4 * 5504 = 27648 -> 28672 */
    {4, 65536, 28672, 69632, 28672 + 4 * 69632,
	28672 + 4 * 69632 + CHAT_REGION(4) + IP_REGION},
    /* 5632 + 8 * 5504 = 49664 -> 53248; 128 + 1 MiB -> 1 MiB + 4096 */
    {8, 1048576, 53248, 1052672, 53248 + 8 * 1052672,
	53248 + 8 * 1052672 + CHAT_REGION(8) + IP_REGION},
    /* 5632 + 64 * 5504 = 357888 -> 360448; the chat header and 64 wake
     * flags, 256 + 4096, take two pages */
    {64, 4096, 360448, 8192, 360448 + 64 * 8192,
	360448 + 64 * 8192 + CHAT_REGION(64) + 4096 + IP_REGION},
};

/* A reader of shm_totals() on a thread, and what it saw. */
struct reader {
	const struct shm_header *rd_sh; /* the segment it sums */
	struct shm_counters rd_out;	/* its sum */
	int rd_started;			/* set when it starts summing */
	int rd_done;			/* set when shm_totals() returned */
};

static char test_dir[64];      /* the private mkdtemp directory */
static char seg_path[128];     /* test_dir/seg: the segment file */
static struct shm_header *seg; /* the test's segment, or NULL */
static char err[512];	       /* the last error */

static struct shm_header *create(uint32_t nslots, uint64_t ring_size);
static struct shm_header *attach(void);
static void expect_refused(const char *message);
static void corrupt(uint64_t *field, uint64_t value, const char *message);
static void corrupt32(uint32_t *field, uint32_t value, const char *message);
static void check_layout(struct shm_header *sh, const struct layout *ly);
static long long now_ms(void);
static void sleep_ms(int ms);
static void *reader_main(void *arg);
static int setup_dir(void **state);
static int teardown_dir(void **state);
static int setup_seg(void **state);
static int teardown_seg(void **state);

/* The chat region of every segment here: the smallest allowed. */
static const struct shm_chat_geom chat_geom = {
    .cg_ring_size = 4096,
    .cg_bcast_size = 131072,
    .cg_max_rooms = 2,
    .cg_max_members = 4,
    .cg_history = 3,
    .cg_max_message = 64,
};

/* Create the segment at seg_path; it must succeed. */
static struct shm_header *
create(uint32_t nslots, uint64_t ring_size)
{
	struct shm_header *sh;

	sh = shm_create(seg_path, nslots, ring_size, &chat_geom, IP_GROUPS, err,
	    sizeof(err));
	if (sh == NULL)
		fail_msg("shm_create: %s", err);
	return sh;
}

/* Attach seg_path; it must succeed. */
static struct shm_header *
attach(void)
{
	struct shm_header *sh;

	sh = shm_attach(seg_path, err, sizeof(err));
	if (sh == NULL)
		fail_msg("shm_attach: %s", err);
	return sh;
}

/*
 * Assert that attaching seg_path fails with an error that names the file
 * and says message, and leaves this process's layout as it was.
 */
static void
expect_refused(const char *message)
{
	uint32_t nslots = shm_nslots();
	uint64_t ring_size = shm_ring_size();

	err[0] = '\0';
	assert_null(shm_attach(seg_path, err, sizeof(err)));
	assert_non_null(strstr(err, seg_path));
	if (strstr(err, message) == NULL)
		fail_msg("error \"%s\" does not say \"%s\"", err, message);
	assert_int_equal(shm_nslots(), nslots);
	assert_int_equal(shm_ring_size(), ring_size);
}

/* Set a 64-bit header field of seg, expect attach refused, restore it. */
static void
corrupt(uint64_t *field, uint64_t value, const char *message)
{
	uint64_t saved = *field;

	*field = value;
	expect_refused(message);
	*field = saved;
	shm_detach(attach());
}

/* The same for a 32-bit field. */
static void
corrupt32(uint32_t *field, uint32_t value, const char *message)
{
	uint32_t saved = *field;

	*field = value;
	expect_refused(message);
	*field = saved;
	shm_detach(attach());
}

/*
 * Assert that sh has the layout ly, in its header and in the addresses
 * shm_slot_at() and shm_ring_at() give.
 */
static void
check_layout(struct shm_header *sh, const struct layout *ly)
{
	char *base = (char *)sh;
	uint32_t i;

	assert_int_equal(sh->sh_nslots, ly->ly_nslots);
	assert_int_equal(sh->sh_header_size, HEADER_SIZE);
	assert_int_equal(sh->sh_slot_size, SLOT_SIZE);
	assert_int_equal(sh->sh_slots_offset, HEADER_SIZE);
	assert_int_equal(sh->sh_rings_offset, ly->ly_rings_offset);
	assert_int_equal(sh->sh_ring_size, ly->ly_ring_size);
	assert_int_equal(sh->sh_ring_stride, ly->ly_ring_stride);
	assert_int_equal(sh->sh_size, ly->ly_size);
	assert_int_equal(sh->sh_chat_offset, ly->ly_chat_offset);
	assert_ptr_equal(shm_chat(sh), base + ly->ly_chat_offset);
	assert_int_equal(sh->sh_ip_offset, ly->ly_size - IP_REGION);
	assert_int_equal(sh->sh_ip_groups, IP_GROUPS);
	assert_ptr_equal(shm_ip_table(sh), base + ly->ly_size - IP_REGION);
	assert_int_equal(shm_ip_ngroups(), IP_GROUPS);
	assert_int_equal(shm_chat(sh)->ch_history, chat_geom.cg_history);
	assert_int_equal(shm_nslots(), ly->ly_nslots);
	assert_int_equal(shm_ring_size(), ly->ly_ring_size);
	for (i = 0; i < ly->ly_nslots; i++) {
		assert_ptr_equal(shm_slot_at(sh, i),
		    base + HEADER_SIZE + (uint64_t)i * SLOT_SIZE);
		assert_ptr_equal(shm_ring_at(sh, i),
		    base + ly->ly_rings_offset + i * ly->ly_ring_stride);
	}
}

/* Return the monotonic clock in milliseconds. */
static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Sleep ms milliseconds: the pace of a polling loop. */
static void
sleep_ms(int ms)
{
	struct timespec ts = {0, ms * 1000000L};

	nanosleep(&ts, NULL);
}

/* Thread entry: sum the segment once, saying when it starts and ends. */
static void *
reader_main(void *arg)
{
	struct reader *rd = arg;

	__atomic_store_n(&rd->rd_started, 1, __ATOMIC_SEQ_CST);
	shm_totals(rd->rd_sh, &rd->rd_out);
	__atomic_store_n(&rd->rd_done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* Group setup: make the private directory. */
static int
setup_dir(void **state)
{
	(void)state;
	snprintf(test_dir, sizeof(test_dir), "/tmp/pfhttpd-test-shm.XXXXXX");
	if (mkdtemp(test_dir) == NULL)
		return -1;
	snprintf(seg_path, sizeof(seg_path), "%s/seg", test_dir);
	return 0;
}

/* Group teardown: remove the private directory. */
static int
teardown_dir(void **state)
{
	(void)state;
	return rmdir(test_dir);
}

/* Test setup: a segment of NSLOTS slots and RING-byte rings as seg. */
static int
setup_seg(void **state)
{
	(void)state;
	seg = shm_create(
	    seg_path, NSLOTS, RING, &chat_geom, IP_GROUPS, err, sizeof(err));
	return seg == NULL ? -1 : 0;
}

/* Test teardown: unmap seg if there is one, remove the file. */
static int
teardown_seg(void **state)
{
	(void)state;
	if (seg != NULL)
		shm_detach(seg);
	seg = NULL;
	if (unlink(seg_path) == -1 && errno != ENOENT)
		return -1;
	return 0;
}

/*
 * The structures have the sizes and the member offsets worked out above:
 * what version 5 readers (statsdump) expect. A change here needs a new
 * SHM_VERSION.
 */
static void
test_structures_have_version_5_sizes(void **state)
{
	(void)state;
	assert_int_equal(SHM_VERSION, 8);
	assert_int_equal(sizeof(struct shm_chat), CHAT_SIZE);
	assert_int_equal(offsetof(struct shm_header, sh_chat_offset), 136);
	assert_int_equal(sizeof(struct shm_counters), COUNTERS_SIZE);
	assert_int_equal(sizeof(struct shm_header), HEADER_SIZE);
	assert_int_equal(sizeof(struct shm_slot), SLOT_SIZE);
	assert_int_equal(sizeof(struct shm_ring), RING_SIZE);
	assert_int_equal(sizeof(struct shm_ipgroup), IPGROUP_SIZE);
	assert_int_equal(offsetof(struct shm_header, sh_size), 16);
	assert_int_equal(offsetof(struct shm_header, sh_nslots), 48);
	assert_int_equal(offsetof(struct shm_header, sh_fold_seq), 104);
	assert_int_equal(offsetof(struct shm_header, sh_retired), 192);
	assert_int_equal(offsetof(struct shm_slot, ss_c), 64);
	assert_int_equal(offsetof(struct shm_ring, rg_tail), 64);
	assert_int_equal(offsetof(struct shm_ring, rg_written), 72);
	assert_int_equal(offsetof(struct shm_header, sh_logger_wrote), 128);
	assert_int_equal(
	    offsetof(struct shm_counters, sc_responses), COUNTERS_SIZE - 4800);
}

/*
 * For several slot counts and ring sizes, the header records the layout
 * worked out by hand, and the slots and rings lie where it says.
 */
static void
test_create_lays_out_slots_and_rings(void **state)
{
	struct shm_header *sh;
	struct stat st;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
		sh = create(layouts[i].ly_nslots, layouts[i].ly_ring_size);
		check_layout(sh, &layouts[i]);
		assert_int_equal(stat(seg_path, &st), 0);
		assert_int_equal(st.st_size, layouts[i].ly_size);
		shm_detach(sh);
	}
}

/*
 * Slots start a line after the header and never share a line; rings start
 * on a page after the last slot and each ends before the next starts; the
 * last ring's stride ends the segment.
 */
static void
test_layout_parts_are_aligned_and_disjoint(void **state)
{
	struct shm_header *sh;
	uintptr_t base, end, at;
	uint32_t i, n;
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(layouts) / sizeof(layouts[0]); k++) {
		n = layouts[k].ly_nslots;
		sh = create(n, layouts[k].ly_ring_size);
		base = (uintptr_t)sh;
		end = base + sizeof(struct shm_header);
		for (i = 0; i < n; i++) {
			at = (uintptr_t)shm_slot_at(sh, i);
			assert_int_equal((at - base) % SHM_CACHELINE, 0);
			assert_true(at >= end);
			end = at + sizeof(struct shm_slot);
		}
		for (i = 0; i < n; i++) {
			at = (uintptr_t)shm_ring_at(sh, i);
			assert_int_equal((at - base) % PAGE, 0);
			assert_true(at >= end);
			end = at + sizeof(struct shm_ring) + sh->sh_ring_size;
		}
		assert_true(end <= base + sh->sh_chat_offset);
		assert_int_equal(
		    (uintptr_t)shm_ring_at(sh, n - 1) + sh->sh_ring_stride,
		    base + sh->sh_chat_offset);
		shm_detach(sh);
	}
}

/*
 * A new segment has the magic, version, this process as master,
 * generation 1, mode 0640, and every slot free and every ring empty.
 */
static void
test_create_initialises_header_slots_and_rings(void **state)
{
	struct shm_slot *slot;
	struct shm_ring *rg;
	struct stat st;
	time_t before;
	uint32_t i;

	(void)state;
	before = time(NULL);
	seg = create(NSLOTS, RING);
	assert_int_equal(seg->sh_magic, SHM_MAGIC);
	assert_int_equal(seg->sh_version, SHM_VERSION);
	assert_int_equal(seg->sh_master_pid, getpid());
	assert_int_equal(seg->sh_generation, 1);
	assert_true(seg->sh_start_time >= (uint64_t)before);
	assert_true(seg->sh_start_time <= (uint64_t)time(NULL));
	assert_int_equal(seg->sh_logger_pid, 0);
	assert_int_equal(seg->sh_fold_seq, 0);
	assert_int_equal(seg->sh_retired.sc_requests, 0);
	for (i = 0; i < NSLOTS; i++) {
		slot = shm_slot_at(seg, i);
		assert_int_equal(slot->ss_pid, 0);
		assert_int_equal(slot->ss_state, SHM_SLOT_FREE);
		assert_int_equal(slot->ss_c.sc_requests, 0);
		rg = shm_ring_at(seg, i);
		assert_int_equal(rg->rg_head, 0);
		assert_int_equal(rg->rg_tail, 0);
	}
	assert_int_equal(stat(seg_path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
}

/* A stale file at the path, even a read-only one, is replaced. */
static void
test_create_replaces_stale_file(void **state)
{
	struct stat st;
	int fd;

	(void)state;
	fd = open(seg_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0400);
	assert_int_not_equal(fd, -1);
	assert_int_equal(write(fd, "stale", 5), 5);
	assert_int_equal(close(fd), 0);
	seg = create(NSLOTS, RING);
	assert_int_equal(seg->sh_magic, SHM_MAGIC);
	assert_int_equal(stat(seg_path, &st), 0);
	assert_int_equal(st.st_size, seg->sh_size);
	assert_int_equal(st.st_mode & 07777, 0640);
}

/* A path that cannot be created gives NULL and an error naming it. */
static void
test_create_reports_impossible_path(void **state)
{
	char path[256];

	(void)state;
	snprintf(path, sizeof(path), "%s/missing/seg", test_dir);
	err[0] = '\0';
	assert_null(shm_create(
	    path, NSLOTS, RING, &chat_geom, IP_GROUPS, err, sizeof(err)));
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, strerror(ENOENT)));
}

/*
 * A segment attached by another process (statsdump) reads as made, and
 * the layout of this process becomes the attached one's.
 */
static void
test_attach_accepts_created_segment(void **state)
{
	struct shm_header *sh;

	(void)state;
	sh = create(layouts[3].ly_nslots, layouts[3].ly_ring_size);
	sh->sh_retired.sc_requests = 42;
	shm_detach(sh);
	/* Another layout for this process before the attach. */
	snprintf(seg_path, sizeof(seg_path), "%s/other", test_dir);
	shm_detach(create(1, 4096));
	assert_int_equal(unlink(seg_path), 0);
	snprintf(seg_path, sizeof(seg_path), "%s/seg", test_dir);

	seg = attach();
	assert_int_equal(seg->sh_magic, SHM_MAGIC);
	assert_int_equal(seg->sh_master_pid, getpid());
	assert_int_equal(seg->sh_retired.sc_requests, 42);
	check_layout(seg, &layouts[3]);
}

/*
 * The attached mapping is read-only: the kernel refuses to write into it
 * (read(2) from a pipe says EFAULT rather than raising a fault).
 */
static void
test_attach_maps_read_only(void **state)
{
	uint64_t two = 2;
	int fds[2];

	(void)state;
	shm_detach(create(NSLOTS, RING));
	seg = attach();
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], &two, sizeof(two)), sizeof(two));
	errno = 0;
	assert_int_equal(read(fds[0], &seg->sh_generation, sizeof(two)), -1);
	assert_int_equal(errno, EFAULT);
	assert_int_equal(seg->sh_generation, 1);
	close(fds[0]);
	close(fds[1]);
}

/* A file that does not start with the magic is refused. */
static void
test_attach_refuses_bad_magic(void **state)
{
	(void)state;
	seg = create(NSLOTS, RING);
	corrupt(
	    &seg->sh_magic, SHM_MAGIC ^ 1, "not a pfhttpd segment (bad magic)");
	corrupt(&seg->sh_magic, 0, "bad magic");
}

/* A segment of another layout version is refused, saying both. */
static void
test_attach_refuses_other_version(void **state)
{
	(void)state;
	seg = create(NSLOTS, RING);
	corrupt32(&seg->sh_version, SHM_VERSION + 1,
	    "segment layout version 9, this program reads 8");
	corrupt32(&seg->sh_version, 0, "version 0");
}

/*
 * A header whose sizes or offsets are not those of its own slot count
 * and ring size is refused, as a worker could have written it.
 */
static void
test_attach_refuses_wrong_size_fields(void **state)
{
	const char *bad = "corrupt segment header";

	(void)state;
	seg = create(NSLOTS, 65536);
	corrupt(&seg->sh_size, seg->sh_size + PAGE, bad);
	corrupt(&seg->sh_size, seg->sh_size - PAGE, bad);
	corrupt32(&seg->sh_header_size, HEADER_SIZE - 64, bad);
	corrupt32(&seg->sh_slot_size, SLOT_SIZE + 64, bad);
	corrupt(&seg->sh_slots_offset, HEADER_SIZE + 64, bad);
	corrupt(&seg->sh_rings_offset, seg->sh_rings_offset - PAGE, bad);
	corrupt(&seg->sh_ring_stride, seg->sh_ring_stride + PAGE, bad);
	corrupt32(&seg->sh_nslots, NSLOTS - 1, bad);
	corrupt32(&seg->sh_nslots, 0, bad);
	corrupt(&seg->sh_ring_size, 65536 / 2, bad);
	/* Not a power of two, though the page rounding hides it. */
	corrupt(&seg->sh_ring_size, 65536 - 8, bad);
	corrupt(&seg->sh_ip_groups, IP_GROUPS * 16, bad);
	corrupt(&seg->sh_ip_groups, 3, bad);
	corrupt(&seg->sh_ip_groups, 0, bad);
	corrupt(&seg->sh_ip_offset, seg->sh_ip_offset + PAGE, bad);
}

/* A ring size below 4096 or not a power of two is refused. */
static void
test_attach_refuses_impossible_ring_size(void **state)
{
	const char *bad = "corrupt segment header";

	(void)state;
	/* Consistent layouts: shm_create() takes what it is given. */
	seg = shm_create(
	    seg_path, 1, 2048, &chat_geom, IP_GROUPS, err, sizeof(err));
	assert_non_null(seg);
	expect_refused(bad);
	shm_detach(seg);
	seg = shm_create(
	    seg_path, 1, 3 * 4096, &chat_geom, IP_GROUPS, err, sizeof(err));
	assert_non_null(seg);
	expect_refused(bad);
}

/*
 * A file shorter or longer than its header says, or too short for a
 * header, is refused.
 */
static void
test_attach_refuses_truncated_file(void **state)
{
	uint64_t size;

	(void)state;
	seg = create(NSLOTS, RING);
	size = seg->sh_size;
	shm_detach(seg);
	seg = NULL;
	assert_int_equal(truncate(seg_path, (off_t)(size - PAGE)), 0);
	expect_refused("corrupt segment header");
	assert_int_equal(truncate(seg_path, (off_t)(size + PAGE)), 0);
	expect_refused("corrupt segment header");
	assert_int_equal(truncate(seg_path, HEADER_SIZE - 1), 0);
	expect_refused("not a pfhttpd segment (too small)");
	assert_int_equal(truncate(seg_path, 0), 0);
	expect_refused("too small");
}

/* A path with no file is refused with a hint. */
static void
test_attach_refuses_missing_file(void **state)
{
	(void)state;
	expect_refused("no such segment");
}

/*
 * Slot and ring addresses come from the layout this process made or
 * checked: offsets a worker writes into the header later move nothing.
 */
static void
test_addresses_ignore_header_written_later(void **state)
{
	(void)state;
	seg->sh_slots_offset = 0;
	seg->sh_rings_offset = 64;
	seg->sh_ring_stride = 1;
	seg->sh_nslots = 1000;
	assert_ptr_equal(
	    shm_slot_at(seg, 1), (char *)seg + HEADER_SIZE + SLOT_SIZE);
	/* 5440 + 4 * 5312 = 26688 -> 28672; 128 + 4096 -> 8192 */
	assert_ptr_equal(shm_ring_at(seg, 3), (char *)seg + 28672 + 3 * 8192);
	assert_int_equal(shm_nslots(), NSLOTS);
}

/*
 * Detach unmaps the segment as made or checked, whatever a worker wrote
 * into sh_size since: not the page after it, and all of it.
 */
static void
test_detach_unmaps_the_segment_only(void **state)
{
	char *base, *after;
	uint64_t size;

	(void)state;
	/* Move the segment before a page of the test's own. */
	size = seg->sh_size;
	base = mmap(
	    NULL, size + PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(base != MAP_FAILED);
	after = base + size;
	seg = mremap(seg, size, size, MREMAP_MAYMOVE | MREMAP_FIXED, base);
	assert_ptr_equal(seg, base);

	seg->sh_size = size + PAGE;
	shm_detach(seg);
	seg = NULL;
	assert_int_equal(msync(after, PAGE, MS_ASYNC), 0);
	assert_int_equal(munmap(after, PAGE), 0);
	assert_int_equal(msync(base, PAGE, MS_ASYNC), -1);
	assert_int_equal(errno, ENOMEM);

	seg = create(NSLOTS, RING);
	base = (char *)seg;
	seg->sh_size = PAGE;
	shm_detach(seg);
	seg = NULL;
	assert_int_equal(msync(base + size - PAGE, PAGE, MS_ASYNC), -1);
	assert_int_equal(errno, ENOMEM);
}

/* Every counter, gauges and arrays included, is added; from is intact. */
static void
test_counters_add_sums_every_field(void **state)
{
	struct shm_counters to, from;

	(void)state;
	memset(&to, 0, sizeof(to));
	memset(&from, 0, sizeof(from));
	to.sc_conn_accepted = 1;
	from.sc_conn_accepted = 2;
	to.sc_conn_active = 10;
	from.sc_conn_active = 5;
	from.sc_ws_bytes_out = 7;
	from.sc_ws_closes[0] = 3;
	from.sc_ws_closes[SHM_WS_CLOSE_CLASSES - 1] = 4;
	from.sc_latency[0] = 11;
	from.sc_latency[SHM_LATENCY_BUCKETS - 1] = 12;
	to.sc_responses[0] = 100;
	from.sc_responses[200] = 13;
	from.sc_responses[SHM_STATUS_MAX - 1] = 14;
	to.sc_responses[SHM_STATUS_MAX - 1] = 1ULL << 40;
	shm_counters_add(&to, &from);
	assert_int_equal(to.sc_conn_accepted, 3);
	assert_int_equal(to.sc_conn_active, 15);
	assert_int_equal(to.sc_ws_bytes_out, 7);
	assert_int_equal(to.sc_ws_closes[0], 3);
	assert_int_equal(to.sc_ws_closes[SHM_WS_CLOSE_CLASSES - 1], 4);
	assert_int_equal(to.sc_latency[0], 11);
	assert_int_equal(to.sc_latency[SHM_LATENCY_BUCKETS - 1], 12);
	assert_int_equal(to.sc_responses[0], 100);
	assert_int_equal(to.sc_responses[200], 13);
	assert_int_equal(
	    to.sc_responses[SHM_STATUS_MAX - 1], (1ULL << 40) + 14);
	assert_int_equal(to.sc_requests, 0);
	assert_int_equal(from.sc_conn_accepted, 2);
	assert_int_equal(from.sc_responses[SHM_STATUS_MAX - 1], 14);
}

/*
 * Totals are the retired counters plus the slots of starting, serving and
 * draining workers; free and exited slots (folded already) are not.
 */
static void
test_totals_sum_retired_and_live_slots(void **state)
{
	static const uint64_t states[NSLOTS] = {SHM_SLOT_STARTING,
	    SHM_SLOT_SERVING, SHM_SLOT_DRAINING, SHM_SLOT_EXITED};
	struct shm_counters out;
	struct shm_slot *slot;
	uint32_t i;
	uint64_t n = 1;

	(void)state;
	seg->sh_retired.sc_requests = 1000000;
	seg->sh_retired.sc_responses[404] = 5;
	for (i = 0; i < NSLOTS; i++, n *= 10) {
		slot = shm_slot_at(seg, i);
		slot->ss_state = states[i];
		slot->ss_c.sc_requests = n;
		slot->ss_c.sc_responses[SHM_STATUS_MAX - 1] = n;
	}
	memset(&out, 0xff, sizeof(out));
	shm_totals(seg, &out);
	assert_int_equal(out.sc_requests, 1000000 + 1 + 10 + 100);
	assert_int_equal(out.sc_responses[SHM_STATUS_MAX - 1], 1 + 10 + 100);
	assert_int_equal(out.sc_responses[404], 5);
	assert_int_equal(out.sc_bytes_in, 0);

	/* A free slot's leftovers do not count either. */
	shm_slot_at(seg, 1)->ss_state = SHM_SLOT_FREE;
	shm_totals(seg, &out);
	assert_int_equal(out.sc_requests, 1000000 + 1 + 100);
}

/*
 * A sum that starts while the master folds a slot (sh_fold_seq odd, the
 * slot both in sh_retired and still live) waits for the fold to end and
 * counts the slot once. If the reader does not run before the fold ends
 * the test proves less, but never fails wrongly.
 */
static void
test_totals_wait_for_fold_to_end(void **state)
{
	struct reader rd;
	struct shm_slot *slot;
	pthread_t tid;
	long long start;

	(void)state;
	slot = shm_slot_at(seg, 0);
	slot->ss_state = SHM_SLOT_SERVING;
	slot->ss_c.sc_requests = 7;
	/* The master, half-way through folding slot 0. */
	seg->sh_fold_seq = 1;
	seg->sh_retired.sc_requests = 7;
	memset(&rd, 0, sizeof(rd));
	rd.rd_sh = seg;
	assert_int_equal(pthread_create(&tid, NULL, reader_main, &rd), 0);
	start = now_ms();
	while (!__atomic_load_n(&rd.rd_started, __ATOMIC_SEQ_CST)) {
		assert_true(now_ms() - start < 10000);
		sleep_ms(1);
	}
	/* While the fold lasts, the reader must not return. */
	start = now_ms();
	while (now_ms() - start < 100) {
		assert_false(__atomic_load_n(&rd.rd_done, __ATOMIC_SEQ_CST));
		sleep_ms(1);
	}
	slot->ss_state = SHM_SLOT_EXITED;
	__atomic_store_n(&seg->sh_fold_seq, 2, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(tid, NULL), 0);
	assert_int_equal(rd.rd_out.sc_requests, 7);
}

/* The master is alive while its process runs: this one. */
static void
test_master_alive_while_its_process_runs(void **state)
{
	(void)state;
	seg->sh_master_pid = (uint64_t)getpid();
	assert_true(shm_master_alive(seg));
}

/* The master is dead once its process has exited and been reaped. */
static void
test_master_dead_after_exit(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	pid = fork();
	assert_int_not_equal(pid, -1);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	seg->sh_master_pid = (uint64_t)pid;
	assert_false(shm_master_alive(seg));
}

/*
 * A pid of 0, or one that is negative as a pid_t (kill(2) would take it
 * for a process group, or -1 for every process), is no master.
 */
static void
test_master_dead_for_non_positive_pid(void **state)
{
	(void)state;
	seg->sh_master_pid = 0;
	assert_false(shm_master_alive(seg));
	seg->sh_master_pid = (uint64_t)-1;
	assert_false(shm_master_alive(seg));
	seg->sh_master_pid = (uint64_t)(-(int64_t)getpid());
	assert_false(shm_master_alive(seg));
}

int
main(void)
{
#define T(f)  cmocka_unit_test_teardown(f, teardown_seg)
#define TS(f) cmocka_unit_test_setup_teardown(f, setup_seg, teardown_seg)
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_structures_have_version_5_sizes),
	    T(test_create_lays_out_slots_and_rings),
	    T(test_layout_parts_are_aligned_and_disjoint),
	    T(test_create_initialises_header_slots_and_rings),
	    T(test_create_replaces_stale_file),
	    T(test_create_reports_impossible_path),
	    T(test_attach_accepts_created_segment),
	    T(test_attach_maps_read_only),
	    T(test_attach_refuses_bad_magic),
	    T(test_attach_refuses_other_version),
	    T(test_attach_refuses_wrong_size_fields),
	    T(test_attach_refuses_impossible_ring_size),
	    T(test_attach_refuses_truncated_file),
	    T(test_attach_refuses_missing_file),
	    TS(test_addresses_ignore_header_written_later),
	    TS(test_detach_unmaps_the_segment_only),
	    cmocka_unit_test(test_counters_add_sums_every_field),
	    TS(test_totals_sum_retired_and_live_slots),
	    TS(test_totals_wait_for_fold_to_end),
	    TS(test_master_alive_while_its_process_runs),
	    TS(test_master_dead_after_exit),
	    TS(test_master_dead_for_non_positive_pid),
	};
#undef T
#undef TS

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
