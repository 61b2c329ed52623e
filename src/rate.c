/*
 * A token bucket per chat connection: a message costs one token, the
 * bucket holds burst tokens and fills at per_second tokens a second
 * (RATE_PER_SECOND and RATE_BURST by default). Integers only: the bucket
 * counts millitokens, and per_second tokens a second are exactly
 * per_second millitokens a millisecond, so nothing is lost to rounding.
 *
 * The bucket starts full. Time is the caller's monotonic clock in ms; a
 * clock that stands still adds nothing, one that goes back is taken as the
 * new origin, and an idle period of any length fills the bucket without
 * overflowing (the refill is capped before it is multiplied out).
 */

#include <stdint.h>

#include "pfhttpd.h"

#define RATE_COST 1000 /* millitokens a message costs */

/* Make r a full bucket of burst tokens refilled at per_second a second. */
void
rate_init(struct rate *r, unsigned per_second, unsigned burst)
{
	r->rt_max = (uint64_t)burst * RATE_COST;
	r->rt_tokens = r->rt_max;
	r->rt_per_ms = per_second;
	r->rt_last = 0;
}

/* Add to r what it earned between its last fill and now_ms. */
static void
rate_fill(struct rate *r, long long now_ms)
{
	uint64_t elapsed, room;

	if (now_ms > r->rt_last) {
		elapsed = (uint64_t)now_ms - (uint64_t)r->rt_last;
		room = r->rt_max - r->rt_tokens;
		if (r->rt_per_ms > 0 && elapsed > room / r->rt_per_ms)
			r->rt_tokens = r->rt_max;
		else
			r->rt_tokens += elapsed * r->rt_per_ms;
	}
	r->rt_last = now_ms;
}

/* Take a token from r at now_ms: 1 if there was one, 0 if not. */
int
rate_allow(struct rate *r, long long now_ms)
{
	rate_fill(r, now_ms);
	if (r->rt_tokens < RATE_COST)
		return 0;
	r->rt_tokens -= RATE_COST;
	return 1;
}
