package io.ringraft.server.kv;

import io.ringraft.engine.Role;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * What a node answers to a {@link KvProtocol#STATUS} request.
 *
 * @param nodeId         the node
 * @param role           its role
 * @param term           its term
 * @param leaderId       the leader it knows, or 0
 * @param committedIndex its commit index
 * @param digest         its state machine's digest
 * @param endpoint       the client endpoint that answered
 */
public record KvNodeStatus(long nodeId, Role role, long term, long leaderId, long committedIndex, KvDigest digest, String endpoint)
{
    /**
     * @param response the answer to a STATUS request
     * @return the status, or null if the node did not answer
     */
    public static KvNodeStatus of(final KvResponse response)
    {
        if (response.status() != KvProtocol.OK || response.value() == null || response.value().length < KvProtocol.STATUS_LONGS * 8)
        {
            return null;
        }
        final UnsafeBuffer b = new UnsafeBuffer(response.value());
        final int roleOrdinal = (int)b.getLong(8);
        final Role role = roleOrdinal >= 0 && roleOrdinal < Role.values().length ? Role.values()[roleOrdinal] : Role.FOLLOWER;
        return new KvNodeStatus(b.getLong(0), role, b.getLong(16), b.getLong(24), b.getLong(32),
            new KvDigest(b.getLong(40), b.getLong(48), b.getLong(56), b.getLong(64), b.getLong(72)), response.endpoint());
    }
}
