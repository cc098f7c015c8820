package io.ringraft.transport.aeron;

/**
 * The constants of the wire format described in the {@linkplain io.ringraft.transport.aeron package
 * documentation}, and the sizes a sender needs to budget its batches.
 */
public final class WireFormat
{
    /** "RR": the first two bytes of every frame. */
    public static final int MAGIC = 0x5252;
    /** The protocol version this codec writes and reads. */
    public static final int VERSION = 1;
    /** The length of the header in front of every body. */
    public static final int HEADER_LENGTH = 40;
    /**
     * Header flag: the frame ends with a {@link FrameAuthenticator} trailer of
     * {@link FrameAuthenticator#TRAILER_LENGTH} bytes after its body.
     */
    public static final int FLAG_AUTHENTICATED = 1;

    /** Type code of {@link io.ringraft.network.VoteRequest}. */
    public static final int TYPE_VOTE_REQUEST = 1;
    /** Type code of {@link io.ringraft.network.VoteResponse}. */
    public static final int TYPE_VOTE_RESPONSE = 2;
    /** Type code of {@link io.ringraft.network.AppendEntriesRequest}. */
    public static final int TYPE_APPEND_ENTRIES_REQUEST = 3;
    /** Type code of {@link io.ringraft.network.AppendEntriesResponse}. */
    public static final int TYPE_APPEND_ENTRIES_RESPONSE = 4;
    /** Type code of {@link io.ringraft.network.InstallSnapshotRequest}. */
    public static final int TYPE_INSTALL_SNAPSHOT_REQUEST = 5;
    /** Type code of {@link io.ringraft.network.InstallSnapshotResponse}. */
    public static final int TYPE_INSTALL_SNAPSHOT_RESPONSE = 6;
    /** Type code of {@link io.ringraft.network.TimeoutNow}. */
    public static final int TYPE_TIMEOUT_NOW = 7;
    /** Type code of {@link io.ringraft.network.ReadIndexRequest}. */
    public static final int TYPE_READ_INDEX_REQUEST = 8;
    /** Type code of {@link io.ringraft.network.ReadIndexResponse}. */
    public static final int TYPE_READ_INDEX_RESPONSE = 9;
    /**
     * Type code of {@link io.ringraft.network.Introduce}: the one type a receiver accepts from a
     * sender that is not one of its peers (rate-limited, and authenticated like every frame).
     */
    public static final int TYPE_INTRODUCE = 10;

    /** Fixed block length of each body, by type code (index 0 unused). */
    static final int[] BLOCK_LENGTH = {-1, 17, 1, 32, 33, 37, 9, 0, 8, 25, 0};

    /** The length of the entry group header of an AppendEntries body. */
    public static final int ENTRY_GROUP_HEADER_LENGTH = 8;
    /**
     * The fixed part of each entry in an AppendEntries body; its payload follows. The entries are
     * {@link io.ringraft.EntryBatch}'s layout, so batches go on and come off the wire in place.
     */
    public static final int ENTRY_BLOCK_LENGTH = io.ringraft.EntryBatch.ENTRY_HEADER_LENGTH;
    /** The length prefix of a variable-length field. */
    public static final int VAR_LENGTH_PREFIX = 4;

    private WireFormat()
    {
    }

    /**
     * The exact encoded length of an AppendEntries request, so that replication can fill a batch
     * up to a byte budget without encoding it.
     *
     * @param entryCount   the number of entries
     * @param payloadBytes the sum of their payload lengths
     * @return the frame length in bytes
     */
    public static long appendEntriesLength(final int entryCount, final long payloadBytes)
    {
        return HEADER_LENGTH + BLOCK_LENGTH[TYPE_APPEND_ENTRIES_REQUEST] + ENTRY_GROUP_HEADER_LENGTH +
            (long)entryCount * ENTRY_BLOCK_LENGTH + payloadBytes;
    }

    /**
     * @param payloadLength the payload length of one entry
     * @return how many bytes that entry adds to an AppendEntries frame
     */
    public static int entryLength(final int payloadLength)
    {
        return ENTRY_BLOCK_LENGTH + payloadLength;
    }

    /**
     * @param type a type code
     * @return true if this version of the codec knows it
     */
    public static boolean isKnownType(final int type)
    {
        return type >= TYPE_VOTE_REQUEST && type <= TYPE_INTRODUCE;
    }
}
