/*
 * Per-client-address limits: the CIDR ranges of [server] limit_exempt,
 * and the shared table of addresses (layout and locking contract: struct
 * shm_ipgroup in shm.h) that counts each address's connections and
 * meters its requests, whichever worker accepted them.
 *
 * The request rate is a token bucket kept as one number, its theoretical
 * arrival time (GCRA, as in ATM traffic shaping): each request moves
 * ie_tat one interval (a second / rate) past max(ie_tat, now); a request
 * that would move it more than burst intervals ahead of now is refused.
 * That is a bucket of burst tokens filled at rate a second, in one field.
 *
 * Pure code over memory it is given: the workers pass the segment's
 * table, the unit tests one of their own.
 */

#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pfhttpd.h"
#include "shm.h"

#define IPLIMIT_SPINS	 1024	 /* spins between looks at the holder */
#define IPLIMIT_USEC	 1000000 /* microseconds a second */
#define IPLIMIT_ADDR_MAX 64	 /* a range's text, bytes with the NUL */

/* Write the IPv4 address a (network order) as ::ffff:a into key. */
static void
iplimit_map4(const void *a, uint8_t key[16])
{
	memset(key, 0, 10);
	key[10] = 0xff;
	key[11] = 0xff;
	memcpy(key + 12, a, 4);
}

/* Parse one range "ADDR[/BITS]" of len bytes into c: 0, or -1. */
static int
iplimit_cidr_one(const char *s, size_t len, struct iplimit_cidr *c)
{
	char text[IPLIMIT_ADDR_MAX], *slash, *end;
	struct in_addr a4;
	long bits;
	int max, i;

	if (len >= sizeof(text))
		return -1;
	memcpy(text, s, len);
	text[len] = '\0';
	if ((slash = strchr(text, '/')) != NULL)
		*slash = '\0';
	if (inet_pton(AF_INET, text, &a4) == 1) {
		iplimit_map4(&a4, c->ic_addr);
		max = 32;
	} else if (inet_pton(AF_INET6, text, c->ic_addr) == 1)
		max = 128;
	else
		return -1;
	bits = max;
	if (slash != NULL) {
		if (slash[1] < '0' || slash[1] > '9' || strlen(slash + 1) > 3)
			return -1;
		bits = strtol(slash + 1, &end, 10);
		if (*end != '\0' || bits > max)
			return -1;
	}
	c->ic_bits = (int)bits + (128 - max);
	for (i = c->ic_bits; i < 128; i++)
		if (c->ic_addr[i / 8] & (0x80 >> (i % 8)))
			return -1; /* host bits set: a typo, most likely */
	return 0;
}

/*
 * Parse a list of ranges separated by spaces ("10.0.0.0/8 ::1") into out
 * (max entries). Return how many, or -1 with the reason in why.
 */
int
iplimit_cidr_parse(const char *list, struct iplimit_cidr *out, int max,
    char *why, size_t whylen)
{
	const char *p = list;
	size_t len;
	int n = 0;

	for (;;) {
		p += strspn(p, " \t");
		if (*p == '\0')
			return n;
		len = strcspn(p, " \t");
		if (n == max) {
			snprintf(why, whylen, "more than %d ranges", max);
			return -1;
		}
		if (iplimit_cidr_one(p, len, &out[n]) == -1) {
			snprintf(why, whylen,
			    "'%.*s' is not an address or a range such as "
			    "192.0.2.0/24 or 2001:db8::/32 (host bits zero)",
			    (int)(len > 60 ? 60 : len), p);
			return -1;
		}
		n++;
		p += len;
	}
}

/* Tell whether addr lies in one of the n ranges of set. */
int
iplimit_cidr_match(
    const struct iplimit_cidr *set, int n, const uint8_t addr[16])
{
	int i, full, rest;

	for (i = 0; i < n; i++) {
		full = set[i].ic_bits / 8;
		rest = set[i].ic_bits % 8;
		if (memcmp(set[i].ic_addr, addr, (size_t)full) != 0)
			continue;
		if (rest == 0 ||
		    ((set[i].ic_addr[full] ^ addr[full]) & (0xff00 >> rest)) ==
			0)
			return 1;
	}
	return 0;
}

/* Write the table key of a client address: 0, or -1 if not IP. */
int
iplimit_key(const struct sockaddr *sa, uint8_t key[16])
{
	if (sa->sa_family == AF_INET6) {
		memcpy(key,
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		    16);
		return 0;
	}
	if (sa->sa_family == AF_INET) {
		iplimit_map4(
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
		    key);
		return 0;
	}
	return -1;
}

/* Return the group of key: a keyed mix of its two halves. */
static struct shm_ipgroup *
iplimit_group(struct shm_ipgroup *table, uint64_t ngroups, uint64_t seed,
    const uint8_t key[16])
{
	uint64_t a, b, h;

	memcpy(&a, key, 8);
	memcpy(&b, key + 8, 8);
	h = (a ^ seed) * 0x9e3779b97f4a7c15ULL;
	h = (h ^ (h >> 29) ^ b) * 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	return &table[h & (ngroups - 1)];
}

/*
 * Take the group's lock. A holder that no longer exists (killed inside
 * its few stores) loses it to us: see shm.h.
 */
static void
iplimit_lock(struct shm_ipgroup *g)
{
	uint64_t me = (uint64_t)getpid(), holder;
	unsigned spins = 0;

	for (;;) {
		holder = 0;
		if (__atomic_compare_exchange_n(&g->ig_lock, &holder, me, 0,
			__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			return;
		if (++spins % IPLIMIT_SPINS != 0)
			continue;
		if (holder != 0 && kill((pid_t)holder, 0) == -1 &&
		    errno == ESRCH &&
		    __atomic_compare_exchange_n(&g->ig_lock, &holder, me, 0,
			__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			return;
		sched_yield();
	}
}

/* Give the group's lock back: what was written is seen by the next. */
static void
iplimit_unlock(struct shm_ipgroup *g)
{
	__atomic_store_n(&g->ig_lock, 0, __ATOMIC_RELEASE);
}

/*
 * In a locked group: the entry of key, or a free or idle one now made
 * its, or NULL if every entry holds another busy address.
 */
static struct shm_ipentry *
iplimit_find(struct shm_ipgroup *g, const uint8_t key[16], uint64_t now_us)
{
	struct shm_ipentry *e, *spare = NULL;
	int i;

	for (i = 0; i < SHM_IP_WAYS; i++) {
		e = &g->ig_e[i];
		if (e->ie_used && memcmp(e->ie_addr, key, 16) == 0)
			return e;
		if (spare == NULL &&
		    (!e->ie_used || (e->ie_conns == 0 && e->ie_tat <= now_us)))
			spare = e;
	}
	if (spare != NULL) {
		memcpy(spare->ie_addr, key, 16);
		spare->ie_used = 1;
		spare->ie_conns = 0;
		spare->ie_tat = 0;
	}
	return spare;
}

/*
 * Count a new connection from key against max: IPLIMIT_OK with the entry
 * in *entry (give it back with iplimit_conn_give() at close),
 * IPLIMIT_REFUSED if key holds max already, or IPLIMIT_UNTRACKED.
 */
enum iplimit_verdict
iplimit_conn_take(struct shm_ipgroup *table, uint64_t ngroups, uint64_t seed,
    const uint8_t key[16], uint32_t max, uint64_t now_us,
    struct shm_ipentry **entry)
{
	struct shm_ipgroup *g = iplimit_group(table, ngroups, seed, key);
	enum iplimit_verdict v = IPLIMIT_OK;
	struct shm_ipentry *e;

	*entry = NULL;
	iplimit_lock(g);
	if ((e = iplimit_find(g, key, now_us)) == NULL)
		v = IPLIMIT_UNTRACKED;
	else if (e->ie_conns >= max)
		v = IPLIMIT_REFUSED;
	else {
		e->ie_conns++;
		*entry = e;
	}
	iplimit_unlock(g);
	return v;
}

/* Give back a connection that iplimit_conn_take() counted in entry. */
void
iplimit_conn_give(
    struct shm_ipgroup *table, uint64_t ngroups, struct shm_ipentry *entry)
{
	struct shm_ipgroup *g;
	uint64_t i;

	/* Entries stay in their group: find it from the address. */
	i = (uint64_t)((char *)entry - (char *)table) /
	    sizeof(struct shm_ipgroup);
	if (i >= ngroups)
		return;
	g = &table[i];
	iplimit_lock(g);
	if (entry->ie_conns > 0)
		entry->ie_conns--;
	iplimit_unlock(g);
}

/*
 * Meter a request from key: rate a second, burst at once. IPLIMIT_OK,
 * IPLIMIT_UNTRACKED, or IPLIMIT_REFUSED with the seconds until a request
 * would pass in *retry_s (at least 1).
 */
enum iplimit_verdict
iplimit_rate_take(struct shm_ipgroup *table, uint64_t ngroups, uint64_t seed,
    const uint8_t key[16], uint64_t rate, uint64_t burst, uint64_t now_us,
    uint64_t *retry_s)
{
	struct shm_ipgroup *g = iplimit_group(table, ngroups, seed, key);
	uint64_t interval = IPLIMIT_USEC / rate, next, over;
	enum iplimit_verdict v = IPLIMIT_OK;
	struct shm_ipentry *e;

	iplimit_lock(g);
	if ((e = iplimit_find(g, key, now_us)) == NULL)
		v = IPLIMIT_UNTRACKED;
	else {
		next = (e->ie_tat > now_us ? e->ie_tat : now_us) + interval;
		if (next - now_us > burst * interval) {
			over = next - now_us - burst * interval;
			*retry_s = (over + IPLIMIT_USEC - 1) / IPLIMIT_USEC;
			v = IPLIMIT_REFUSED;
		} else
			e->ie_tat = next;
	}
	iplimit_unlock(g);
	return v;
}
