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
    /** The longest snapshot id {@link #isValidId} accepts. */
    public static final int MAX_ID_LENGTH = 200;

    /**
     * A snapshot id names files and travels between nodes: it is 1 to {@value #MAX_ID_LENGTH}
     * characters from {@code A-Z a-z 0-9 . _ -}.
     *
     * @param id an id
     * @return true if it is one
     */
    public static boolean isValidId(final String id)
    {
        if (id == null || id.isEmpty() || id.length() > MAX_ID_LENGTH)
        {
            return false;
        }
        for (int i = 0; i < id.length(); i++)
        {
            final char c = id.charAt(i);
            if (!(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'))
            {
                return false;
            }
        }
        return true;
    }
}
