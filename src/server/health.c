#include "server/health.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "common/timeutil.h"
#include "governance.pb-c.h"
#include "health.pb-c.h"

#define GOV_SERVICE_NAME "vertice.governance.v1.GovernanceService"
#define HEALTH_SERVICE_NAME "grpc.health.v1.Health"

static atomic_int draining;
static uint64_t started_ns;

/* Watch streams, across all worker loops.  A watcher is only ever touched
 * from its own loop; the lock guards the list itself. */
struct watcher {
	rpc_call *call;
	uv_loop_t *loop;
	int known;          /* watching a service we serve */
	struct watcher *next;
};

static uv_mutex_t watch_lock;
static struct watcher *watchers;

static int service_known(const char *name)
{
	return !name || !*name || strcmp(name, GOV_SERVICE_NAME) == 0 ||
	       strcmp(name, HEALTH_SERVICE_NAME) == 0;
}

static Grpc__Health__V1__HealthCheckResponse__ServingStatus current(int known)
{
	if (!known)
		return GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN;
	return atomic_load(&draining) ?
		GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING :
		GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
}

void health_gov_check(rpc_call *call, const ProtobufCMessage *req, void *ud)
{
	Vertice__Governance__V1__HealthCheckResponse resp =
		VERTICE__GOVERNANCE__V1__HEALTH_CHECK_RESPONSE__INIT;
	int drain = atomic_load(&draining);

	resp.healthy = !drain;
	resp.status = drain ? "DRAINING" : "SERVING";
	resp.uptime_seconds = (int64_t)((time_mono_ns() - started_ns) / 1000000000ull);
	rpc_call_send(call, &resp.base);
	rpc_call_finish(call, VCLI_STATUS_OK, NULL);
}

static void health_check(rpc_call *call, const ProtobufCMessage *req, void *ud)
{
	const Grpc__Health__V1__HealthCheckRequest *r =
		(const Grpc__Health__V1__HealthCheckRequest *)req;
	Grpc__Health__V1__HealthCheckResponse resp =
		GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;

	if (!service_known(r->service)) {
		rpc_call_finishf(call, VCLI_STATUS_NOT_FOUND, "unknown service '%s'",
				 r->service);
		return;
	}
	resp.status = current(1);
	rpc_call_send(call, &resp.base);
	rpc_call_finish(call, VCLI_STATUS_OK, NULL);
}

static void watch_send(struct watcher *w)
{
	Grpc__Health__V1__HealthCheckResponse resp =
		GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;

	resp.status = current(w->known);
	rpc_call_send(w->call, &resp.base);
}

static void watch_cancel(rpc_call *call, int reason, void *ud)
{
	struct watcher *w = ud, **pp;

	uv_mutex_lock(&watch_lock);
	for (pp = &watchers; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	}
	uv_mutex_unlock(&watch_lock);
	free(w);
}

static void health_watch(rpc_call *call, const ProtobufCMessage *req, void *ud)
{
	const Grpc__Health__V1__HealthCheckRequest *r =
		(const Grpc__Health__V1__HealthCheckRequest *)req;
	struct watcher *w = calloc(1, sizeof(*w));

	if (!w) {
		rpc_call_finish(call, VCLI_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	w->call = call;
	w->loop = rpc_call_loop(call);
	w->known = service_known(r->service);
	rpc_call_on_cancel(call, watch_cancel, w);
	uv_mutex_lock(&watch_lock);
	w->next = watchers;
	watchers = w;
	uv_mutex_unlock(&watch_lock);
	watch_send(w);
}

/* Runs on each worker loop: tell that loop's watchers the new status. */
static void notify_loop(uv_loop_t *loop, void *ud)
{
	uv_mutex_lock(&watch_lock);
	for (struct watcher *w = watchers; w; w = w->next)
		if (w->loop == loop && w->known)
			watch_send(w);
	uv_mutex_unlock(&watch_lock);
}

void health_set_draining(rpc_server *srv)
{
	int expected = 0;

	if (atomic_compare_exchange_strong(&draining, &expected, 1))
		rpc_server_broadcast(srv, notify_loop, NULL);
}

static const rpc_method_row health_rows[] = {
	{ "Check", RPC_UNARY, health_check },
	{ "Watch", RPC_SERVER_STREAMING, health_watch },
};

int health_register(rpc_server *srv)
{
	started_ns = time_mono_ns();
	uv_mutex_init(&watch_lock);
	if (rpc_server_add_service(srv, &grpc__health__v1__health__descriptor, health_rows,
				   sizeof(health_rows) / sizeof(health_rows[0]), NULL) != RPC_OK)
		return -1;
	return 0;
}

void health_release(void)
{
	while (watchers) {
		struct watcher *w = watchers;
		watchers = w->next;
		free(w);
	}
	uv_mutex_destroy(&watch_lock);
}
