/*
 * Private: governd's health: the governance service's HealthCheck and the
 * standard grpc.health.v1.Health service (Check and Watch).
 */
#ifndef VCLI_SERVER_HEALTH_H
#define VCLI_SERVER_HEALTH_H

#include "rpc/server.h"

/* Registers grpc.health.v1.Health on srv. */
int health_register(rpc_server *srv);

/* The governance service's HealthCheck handler (a row of its table). */
void health_gov_check(rpc_call *call, const ProtobufCMessage *req, void *ud);

/* Marks the server as draining: HealthCheck answers healthy=false,
 * Check/Watch answer NOT_SERVING and every Watch stream is told at once. */
void health_set_draining(rpc_server *srv);

/* Frees what health_register allocated (after the server has stopped). */
void health_release(void);

#endif
