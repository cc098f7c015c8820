package io.ringraft.server.kv;

import io.ringraft.engine.Role;
import io.ringraft.statemachine.KvDigest;

/**
 * One node's status and state digest, as {@link KvClient#status} reads them from that node.
 *
 * @param nodeId         the node
 * @param role           its role
 * @param term           its term
 * @param leaderId       the leader it knows, or -1
 * @param committedIndex its commit index
 * @param appliedIndex   its applied index (every entry: the service's commands and the host's own)
 * @param digest         its key-value state machine's digest
 * @param endpoint       the client endpoint that answered
 */
public record KvNodeStatus(long nodeId, Role role, long term, long leaderId, long committedIndex, long appliedIndex, KvDigest digest, String endpoint)
{
}
