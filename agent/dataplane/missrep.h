/* missrep.h — miss reports between agents (docs/architecture.md, "Miss reports"; issue 4,
 * "Ingress"): the receiving host's agent tells the sending host's agent how
 * many packets of an rtpath arrived after their deadline. Private to agent/dataplane/.
 *
 * Transport. One UDP datagram carries the reports of one receiving host to
 * one sending host for one aggregation interval ([dataplane] miss_interval),
 * at most AGENT_MISSREP_MAX reports (a few hundred bytes: never fragmented).
 * It goes from the receiver's miss socket to the sender's, whose address is
 * the IPv4 address of the sender's rpc_addr (its host record, else its
 * [cluster] peer line) and the rack-wide [dataplane] miss_port. The socket
 * marks everything it sends DSCP CS6 (IP_TOS 0xc0): the highest class short
 * of network control, which the ToR serves first (strict priority), and
 * which rtvd's own dataplane queues as control traffic.
 *
 * UDP may lose a datagram: every report carries the receiver's cumulative
 * miss count for the path besides the interval's, so the next report that
 * arrives restores the total (the sender takes cum − the last cum it saw;
 * a cum that went down means the receiver restarted: the interval's count
 * is taken). The receiver repeats a path's last report for two intervals
 * after its misses stop, so a lost last datagram is made good too.
 *
 * Wire format: one msgpack map (unknown keys ignored, known keys type- and
 * range-checked, none twice):
 *   "v"    uint  AGENT_MISSREP_VERSION (a newer one is refused)
 *   "t"    str   "miss"
 *   "host" uint  the receiving host (the one that measured), > 0
 *   "seq"  uint  its datagram counter (diagnostics: gaps = loss)
 *   "r"    array of 1..AGENT_MISSREP_MAX maps, one per rtpath:
 *     "id"     uint  rtpath id, > 0
 *     "n"      uint  misses in this interval (may be 0: a repeat), <= cum
 *     "cum"    uint  misses counted by the receiver for this path so far
 *     "first_ns", "last_ns"  uint  receiver's CLOCK_REALTIME of the interval's
 *                   first and last miss, first <= last (a repeat carries
 *                   those of the last interval that had misses)
 *     "late_ns"   uint  worst lateness in the interval, <= AGENT_MISSREP_LATE_MAX_NS
 *     "late_ipid" uint  IP id of that packet (16 bits)
 *     "ipid"      uint  IP id of the last late packet (16 bits)
 *     "unc_ns"    uint  the clock uncertainty the receiver assumes,
 *                       <= AGENT_MISSREP_UNC_MAX_NS
 *
 * No authentication: like Raft's and the RPC's TCP, the management network
 * is trusted. A datagram is validated as a whole before anything is used;
 * the receiver of a report also checks that the path exists, is sent by
 * this host, and is received by the host that reports it (dataplane.c).
 */
#ifndef RTV_AGENT_MISSREP_H
#define RTV_AGENT_MISSREP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/log.h"
#include "consensus/consensus.h"

#define AGENT_MISSREP_VERSION 1
#define AGENT_MISSREP_MAX 8			/* reports per datagram */
#define AGENT_MISSREP_MAX_BYTES 2048		/* larger datagrams are refused */
#define AGENT_MISSREP_LATE_MAX_NS 1000000000ull	/* 1 s: past the label's 0.52 s */
#define AGENT_MISSREP_UNC_MAX_NS 1000000000ull
#define AGENT_MISSREP_DSCP 48			/* CS6 */

/* One rtpath's misses over one interval, as the receiver measured them. */
struct agent_missrep {
	uint64_t path_id;
	uint32_t misses;		/* in this interval */
	uint64_t cum_misses;		/* so far, >= misses */
	uint64_t first_ns, last_ns;	/* receiver's CLOCK_REALTIME */
	uint64_t max_late_ns;
	uint16_t max_late_ip_id;
	uint16_t last_ip_id;
	uint64_t uncertainty_ns;
};

struct agent_missrep_msg {
	uint64_t host;			/* the receiving host that measured */
	uint64_t seq;
	size_t n;			/* 1..AGENT_MISSREP_MAX */
	struct agent_missrep r[AGENT_MISSREP_MAX];
};

/* Encodes m (validated as the decoder would) into a malloc'd buffer the
 * caller frees. Returns 0, -EINVAL (m is not valid) or -ENOMEM. */
int agent_missrep_encode(const struct agent_missrep_msg *m, void **buf, size_t *len);
/* Decodes and validates one datagram; copies everything out of buf.
 * Returns 0, -EPROTO (not a miss report, malformed, mistyped or repeated
 * key), -EPROTONOSUPPORT (newer version) or -EINVAL (a value out of
 * range); err says which. Pure: no I/O, no globals. */
int agent_missrep_decode(const void *buf, size_t len, struct agent_missrep_msg *m,
			 char err[CONS_ERRLEN]);

/* ------------------------------------------------------------------------- */
/* The socket (on the caller's libuv loop)                                   */

struct agent_missrep_sock;
/* A datagram that decoded; from_ip in host order. Runs on the loop. */
typedef void (*agent_missrep_fn)(void *arg, const struct agent_missrep_msg *m,
				 uint32_t from_ip);

struct agent_missrep_stats {
	uint64_t dgrams_sent, reports_sent;
	uint64_t send_errors;		/* the kernel refused the datagram */
	uint64_t dgrams_received, reports_received;
	uint64_t dgrams_bad;		/* did not decode (or were truncated) */
	uint64_t dgrams_unauth;		/* sealing on: forged, unsealed, unknown key,
					 * or a sender other than the report's host */
	uint64_t dgrams_replayed;	/* sealing on: seen before or outside the window */
	uint64_t dgrams_wrong_sender;	/* sealing on: sealed by one host, reporting another
					 * (also in dgrams_unauth) */
};

struct pki_dgram;

struct agent_missrep_sock {
	struct agent_missrep_stats stats;
	/* private */
	uv_udp_t udp;
	agent_missrep_fn fn;
	void *arg;
	bool open;
	struct rtv_ratelimit bad_rl, send_rl;
	uint64_t seq;
	uint64_t host;
	struct pki_dgram *seal;		/* NULL: datagrams travel unsealed */
	uint64_t sealed_by;		/* the sender of the datagram being read */
	uint8_t buf[AGENT_MISSREP_MAX_BYTES + 32 + 1];	/* + PKI_SEAL_OVERHEAD */
	uint8_t plain[AGENT_MISSREP_MAX_BYTES + 1];
};

/* Binds a UDP socket on ip:port (host order; ip 0 = any) marked DSCP CS6 and
 * starts receiving; `host` is this host's id (stamped on what it sends).
 * Returns 0 or a negative errno with err saying what and why. On error
 * nothing is left open. */
int agent_missrep_open(struct agent_missrep_sock *s, uv_loop_t *loop, uint64_t host,
		       uint32_t ip, uint16_t port, agent_missrep_fn fn, void *arg,
		       char err[CONS_ERRLEN]);
/* Sends reports (n of them, 1..AGENT_MISSREP_MAX) to ip:port (host order)
 * without blocking (the kernel copies the datagram at once). Returns 0 or a
 * negative errno (counted in send_errors, logged with a rate limit). */
int agent_missrep_send(struct agent_missrep_sock *s, uint32_t ip, uint16_t port,
		       const struct agent_missrep *r, size_t n);
/* After open: seals every datagram sent with the rack key and accepts only sealed ones
 * (pki/: ChaCha20-Poly1305, replay protection); a refused datagram is
 * counted (dgrams_unauth, dgrams_replayed) and logged with a rate limit and
 * never reaches fn. The socket owns d from here on (freed by close). */
void agent_missrep_set_seal(struct agent_missrep_sock *s, struct pki_dgram *d);
/* Stops and closes the handle (uv_run must run afterwards). Idempotent. */
void agent_missrep_close(struct agent_missrep_sock *s);

#endif /* RTV_AGENT_MISSREP_H */
