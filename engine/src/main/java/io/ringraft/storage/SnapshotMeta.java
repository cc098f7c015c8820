package io.ringraft.storage;

import io.ringraft.LogId;
import io.ringraft.Membership;

/**
 * What a snapshot covers: the state after applying every entry up to {@code lastIncluded}, and
 * the membership in force at that point.
 *
 * @param lastIncluded the last log entry the snapshot reflects
 * @param membership   the last membership at or before {@code lastIncluded}
 * @param snapshotId   a name unique per snapshot of a node (e.g. term-index-sequence)
 * @param sizeBytes    the length of the snapshot data, or -1 while it is being written
 * @param crc32c       the CRC32C of the data, valid once {@code sizeBytes >= 0}
 */
public record SnapshotMeta(LogId lastIncluded, Membership membership, String snapshotId, long sizeBytes, int crc32c)
{
}
