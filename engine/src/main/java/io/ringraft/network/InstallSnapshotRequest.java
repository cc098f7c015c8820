package io.ringraft.network;

import io.ringraft.storage.SnapshotMeta;

/**
 * One chunk of a snapshot sent to a follower that needs entries the leader has purged
 * (Raft §7).
 *
 * @param from     the leader
 * @param to       the follower
 * @param term     the leader's term
 * @param meta     the snapshot being sent
 * @param offset   where this chunk starts in the snapshot data
 * @param chunk    the chunk's bytes
 * @param done     true for the last chunk
 */
public record InstallSnapshotRequest(long from, long to, long term, SnapshotMeta meta, long offset, byte[] chunk, boolean done)
    implements RaftMessage
{
}
