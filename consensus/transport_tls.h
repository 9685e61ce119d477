/* transport_tls.h — private to consensus/: raft_uv's transport over mutual
 * TLS (transport_tls.c), and the preamble a connecting server sends inside
 * the TLS session. */
#ifndef RTV_CONSENSUS_TRANSPORT_TLS_H
#define RTV_CONSENSUS_TRANSPORT_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/consensus.h"

struct raft_uv_transport;
struct uv_loop_s;
struct pki_creds;

/* Like raft_uv_tcp_init: fills t's methods. As with the TCP transport, the
 * process must ignore SIGPIPE (raft writes to streams whose peer may have
 * gone). Takes a reference on creds
 * (released by cons_tls_transport_close). 0 or -ENOMEM. */
int cons_tls_transport_init(struct raft_uv_transport *t, struct uv_loop_s *loop,
			    struct pki_creds *creds);
/* Like raft_uv_tcp_close: frees what init allocated, after raft closed the
 * transport and uv_run returned. */
void cons_tls_transport_close(struct raft_uv_transport *t);
/* Replaces the credentials (a renewed certificate): connections made from
 * now on use creds, open ones keep theirs until they close. Takes a
 * reference on creds and drops the old one. */
void cons_tls_transport_set_creds(struct raft_uv_transport *t, struct pki_creds *creds);
/* Connections refused since start (bad certificate, name or preamble);
 * by reason into `by` unless NULL. */
uint64_t cons_tls_transport_refused(const struct raft_uv_transport *t,
				    uint64_t by[CONS_TLS_R_N]);

/* Preamble, the first bytes inside the TLS session from the connecting side
 * (big-endian): u32 magic "RTV1", u32 address length (1..CONS_ADDR_MAX-1),
 * u64 the connecting server's Raft id, then its address ("ip:port", no
 * NUL). encode: 0 with *len, -EINVAL (id 0, address empty or too long),
 * -ENOSPC. decode: 0 with *id, addr and *used (bytes consumed), -EAGAIN
 * (incomplete), -EPROTO (not a preamble: magic, length, id 0, or an
 * address that is not printable ASCII). */
#define CONS_TLS_PREAMBLE_MAGIC 0x52545631u
#define CONS_TLS_PREAMBLE_FIXED 16
int cons_tls_preamble_encode(uint64_t id, const char *addr, void *buf, size_t cap,
			     size_t *len);
int cons_tls_preamble_decode(const void *buf, size_t len, uint64_t *id,
			     char addr[CONS_ADDR_MAX], size_t *used);

#endif
