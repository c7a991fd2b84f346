/* ISC license. */
/* Answers the proxy makes itself on a listener with --service: the
 * Prometheus exposition of the metrics segment on GET /metrics, or the
 * stats page (GET /, /stats) and its JSON (GET /stats.json). One
 * request per connection (the answer closes it), HTTP/1.x only; the
 * body is made a part a loop turn and written as the client takes it.
 * A worker serves at most KK_SERVICE_MAX such answers at once. */
#ifndef KK_WORKER_SERVICE_H
#define KK_WORKER_SERVICE_H

#include "front.h"
#include "head.h"

#define KK_SERVICE_MAX 16

/* Starts the answer to h on f: its status (200, or 404, 405, 503 for the
 * front to answer as an error); on 200 the head is queued and the body
 * follows through kk_service_feed. */
int kk_service_start(kk_front *f, const kk_reqhead *h);
/* Queues more of f's body when its output is empty: 1 when it did, 0
 * when f has none left (or none at all), -1 when more comes later (f is
 * woken for it). */
int kk_service_feed(kk_front *f);
/* f is closing: what it still had goes. */
void kk_service_gone(kk_front *f);

#endif
