package io.ringraft.transport.aeron;

import io.ringraft.EntryType;
import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.network.AppendEntriesRequest;
import io.ringraft.network.AppendEntriesResponse;
import io.ringraft.network.InstallSnapshotRequest;
import io.ringraft.network.InstallSnapshotResponse;
import io.ringraft.network.Introduce;
import io.ringraft.network.RaftMessage;
import io.ringraft.network.ReadIndexRequest;
import io.ringraft.network.ReadIndexResponse;
import io.ringraft.network.TimeoutNow;
import io.ringraft.network.VoteRequest;
import io.ringraft.network.VoteResponse;
import io.ringraft.storage.SnapshotMeta;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.charset.StandardCharsets;
import java.util.function.LongPredicate;

import static java.nio.ByteOrder.LITTLE_ENDIAN;
import static io.ringraft.transport.aeron.WireFormat.BLOCK_LENGTH;
import static io.ringraft.transport.aeron.WireFormat.ENTRY_BLOCK_LENGTH;
import static io.ringraft.transport.aeron.WireFormat.ENTRY_GROUP_HEADER_LENGTH;
import static io.ringraft.transport.aeron.WireFormat.HEADER_LENGTH;
import static io.ringraft.transport.aeron.WireFormat.VAR_LENGTH_PREFIX;

/**
 * Checks and decodes received frames into {@link RaftMessage}s. A frame that fails a check is not
 * delivered: {@link #decode} returns null and {@link #lastDropReason()} says why. Never throws for
 * any content of the frame. One decoder per receiving thread.
 * <p>
 * AppendEntries and its response, the messages of every write, decode without allocating into
 * one instance of each that the decoder reuses, the entries read where they lie in the frame:
 * such a message is valid until the next decode and while the frame's buffer is; keep
 * {@link RaftMessage#copy()}.
 */
public final class WireDecoder
{
    private static final byte[] MALFORMED = new byte[0];
    private static final boolean[] KNOWN_ENTRY_TYPE = new boolean[256];

    static
    {
        for (final EntryType type : EntryType.values())
        {
            KNOWN_ENTRY_TYPE[type.code() & 0xFF] = true;
        }
    }

    private final int clusterId;
    private final long selfId;
    private final LongPredicate knownSender;
    private final int maxMessageLength;
    private final FrameAuthenticator authenticator;
    private final ReplayGuard replayGuard;
    private final LongPredicate sourceMatches;
    private final LongPredicate strangerIntroductions;
    private final UnsafeBuffer frame = new UnsafeBuffer();
    private final MessageHeaderFlyweight header = new MessageHeaderFlyweight();
    private final VoteRequestFlyweight voteRequest = new VoteRequestFlyweight();
    private final VoteResponseFlyweight voteResponse = new VoteResponseFlyweight();
    private final AppendEntriesRequestFlyweight appendRequest = new AppendEntriesRequestFlyweight();
    private final EntryGroupFlyweight entryGroup = new EntryGroupFlyweight();
    private final EntryFlyweight entry = new EntryFlyweight();
    private final AppendEntriesResponseFlyweight appendResponse = new AppendEntriesResponseFlyweight();
    private final InstallSnapshotRequestFlyweight snapshotRequest = new InstallSnapshotRequestFlyweight();
    private final InstallSnapshotResponseFlyweight snapshotResponse = new InstallSnapshotResponseFlyweight();
    private final ReadIndexRequestFlyweight readIndexRequest = new ReadIndexRequestFlyweight();
    private final ReadIndexResponseFlyweight readIndexResponse = new ReadIndexResponseFlyweight();

    // Reused for every AppendEntries and response decoded: valid until the next decode.
    private final AppendEntriesRequest appendEntries = new AppendEntriesRequest();
    private final AppendEntriesResponse appendEntriesResponse = new AppendEntriesResponse();

    private DropReason lastDropReason;
    private int cursor;
    /** The last frame was long enough for its header to be read. */
    private boolean headerRead;

    /**
     * A decoder of unsigned frames that does not check where they come from.
     *
     * @param clusterId        frames of other clusters are dropped
     * @param selfId           frames addressed to other nodes are dropped
     * @param knownSender      frames from senders it rejects are dropped
     * @param maxMessageLength longer frames are dropped
     */
    public WireDecoder(final int clusterId, final long selfId, final LongPredicate knownSender, final int maxMessageLength)
    {
        this(clusterId, selfId, knownSender, maxMessageLength, null, null, null);
    }

    /**
     * @param clusterId        frames of other clusters are dropped
     * @param selfId           frames addressed to other nodes are dropped
     * @param knownSender      frames from senders it rejects are dropped
     * @param maxMessageLength longer frames are dropped (a trailer included)
     * @param authenticator    null to accept unsigned frames only; else every frame must be signed
     *                         with a key it holds, and is checked against {@code replayGuard}
     * @param replayGuard      the senders' epochs and sequences; required with an authenticator
     * @param sourceMatches    null, or asked with the sender id whether the frame being decoded
     *                         came from that sender's address
     */
    public WireDecoder(final int clusterId, final long selfId, final LongPredicate knownSender, final int maxMessageLength,
        final FrameAuthenticator authenticator, final ReplayGuard replayGuard, final LongPredicate sourceMatches)
    {
        this(clusterId, selfId, knownSender, maxMessageLength, authenticator, replayGuard, sourceMatches, null);
    }

    /**
     * @param clusterId             frames of other clusters are dropped
     * @param selfId                frames addressed to other nodes are dropped
     * @param knownSender           frames from senders it rejects are dropped, introductions aside
     * @param maxMessageLength      longer frames are dropped (a trailer included)
     * @param authenticator         null to accept unsigned frames only; else every frame must be signed
     *                              with a key it holds, and is checked against {@code replayGuard}
     * @param replayGuard           the senders' epochs and sequences; required with an authenticator
     * @param sourceMatches         null, or asked with the sender id whether the frame being decoded
     *                              came from that sender's address
     * @param strangerIntroductions null to drop introductions from senders {@code knownSender} rejects
     *                              like any of their frames; else asked with the sender id, once such
     *                              an introduction passed every check and decoded, whether to deliver
     *                              it (a rate limit); refused ones are dropped as
     *                              {@link DropReason#INTRODUCTION_LIMITED}
     */
    public WireDecoder(final int clusterId, final long selfId, final LongPredicate knownSender, final int maxMessageLength,
        final FrameAuthenticator authenticator, final ReplayGuard replayGuard, final LongPredicate sourceMatches,
        final LongPredicate strangerIntroductions)
    {
        if (authenticator != null && replayGuard == null)
        {
            throw new IllegalArgumentException("an authenticating decoder needs a replay guard");
        }
        this.clusterId = clusterId;
        this.selfId = selfId;
        this.knownSender = knownSender;
        this.maxMessageLength = maxMessageLength;
        this.authenticator = authenticator;
        this.replayGuard = replayGuard;
        this.sourceMatches = sourceMatches;
        this.strangerIntroductions = strangerIntroductions;
    }

    /** @return why the last {@link #decode} returned null; undefined after one that succeeded */
    public DropReason lastDropReason()
    {
        return lastDropReason;
    }

    /**
     * @param buffer holds the frame
     * @param offset where the frame starts
     * @param length the frame length
     * @return the message, or null if the frame was dropped (see {@link #lastDropReason()})
     */
    public RaftMessage decode(final DirectBuffer buffer, final int offset, final int length)
    {
        headerRead = false;
        if (length < HEADER_LENGTH)
        {
            return drop(DropReason.TOO_SHORT);
        }
        if (length > maxMessageLength)
        {
            return drop(DropReason.TOO_LONG);
        }
        frame.wrap(buffer, offset, length);
        header.wrap(frame, 0);
        headerRead = true;
        if (header.magic() != WireFormat.MAGIC)
        {
            return drop(DropReason.BAD_MAGIC);
        }
        if (header.version() != WireFormat.VERSION)
        {
            return drop(DropReason.UNSUPPORTED_VERSION);
        }
        if (header.clusterId() != clusterId)
        {
            return drop(DropReason.WRONG_CLUSTER);
        }
        if (header.receiverId() != selfId)
        {
            return drop(DropReason.WRONG_RECEIVER);
        }
        final long from = header.senderId();
        final int type = header.type();
        // An introduction is the one frame a sender that is not a peer may send (see Introduce).
        final boolean stranger = from != selfId && !knownSender.test(from);
        if (from == selfId || stranger && (type != WireFormat.TYPE_INTRODUCE || strangerIntroductions == null))
        {
            return drop(DropReason.UNKNOWN_SENDER);
        }
        if (sourceMatches != null && !sourceMatches.test(from))
        {
            return drop(DropReason.WRONG_SOURCE);
        }
        if (!WireFormat.isKnownType(type))
        {
            return drop(DropReason.UNKNOWN_TYPE);
        }
        final boolean signed = (header.flags() & WireFormat.FLAG_AUTHENTICATED) != 0;
        int end = length;
        if (authenticator != null)
        {
            if (!signed)
            {
                return drop(DropReason.UNAUTHENTICATED);
            }
            if (length < HEADER_LENGTH + FrameAuthenticator.TRAILER_LENGTH)
            {
                return drop(DropReason.BAD_LENGTH);
            }
            final int verdict = authenticator.verify(buffer, offset, length);
            if (verdict != FrameAuthenticator.VALID)
            {
                return drop(verdict == FrameAuthenticator.UNKNOWN_KEY ? DropReason.UNKNOWN_KEY : DropReason.BAD_MAC);
            }
            final int replay = replayGuard.check(
                from, FrameAuthenticator.epoch(buffer, offset, length), FrameAuthenticator.sequence(buffer, offset, length));
            if (replay != ReplayGuard.ACCEPTED)
            {
                return drop(replay == ReplayGuard.OLD_EPOCH ? DropReason.OLD_EPOCH : DropReason.REPLAYED);
            }
            end = length - FrameAuthenticator.TRAILER_LENGTH;
        }
        else if (signed)
        {
            return drop(DropReason.UNEXPECTED_AUTHENTICATION);
        }
        if (header.bodyLength() != end - HEADER_LENGTH)
        {
            return drop(DropReason.BAD_LENGTH);
        }
        final int blockLength = header.blockLength();
        final long term = header.term();
        if (blockLength < BLOCK_LENGTH[type] || blockLength > end - HEADER_LENGTH || term < 0)
        {
            return drop(DropReason.MALFORMED_BODY);
        }
        final RaftMessage message = decodeBody(type, from, term, blockLength, end);
        if (message == null)
        {
            return drop(DropReason.MALFORMED_BODY);
        }
        return stranger && !strangerIntroductions.test(from) ? drop(DropReason.INTRODUCTION_LIMITED) : message;
    }

    /** @return the sender id of the frame last given to {@link #decode}: meaningful after a drop for {@link DropReason#WRONG_SOURCE} or a later check */
    public long lastSenderId()
    {
        return headerRead ? header.senderId() : 0; // a frame too short or too long has no header read: no sender
    }

    private RaftMessage decodeBody(final int type, final long from, final long term, final int blockLength, final int end)
    {
        final int body = HEADER_LENGTH;
        cursor = body + blockLength;
        switch (type)
        {
            case WireFormat.TYPE_VOTE_REQUEST:
            {
                voteRequest.wrap(frame, body);
                final long lastTerm = voteRequest.lastLogTerm();
                final long lastIndex = voteRequest.lastLogIndex();
                if (lastTerm < 0 || lastIndex < 0)
                {
                    return null;
                }
                return new VoteRequest(
                    from, selfId, term, new LogId(lastTerm, lastIndex), voteRequest.preVote(), voteRequest.transfer());
            }
            case WireFormat.TYPE_VOTE_RESPONSE:
                voteResponse.wrap(frame, body);
                return new VoteResponse(from, selfId, term, voteResponse.granted(), voteResponse.preVote());

            case WireFormat.TYPE_APPEND_ENTRIES_REQUEST:
                return decodeAppendEntries(from, term, end);

            case WireFormat.TYPE_APPEND_ENTRIES_RESPONSE:
                appendResponse.wrap(frame, body);
                return appendEntriesResponse.set(from, selfId, term, appendResponse.success(), appendResponse.matchIndex(),
                    appendResponse.conflictTerm(), appendResponse.conflictIndex(), appendResponse.seq());

            case WireFormat.TYPE_INSTALL_SNAPSHOT_REQUEST:
                return decodeInstallSnapshot(from, term, end);

            case WireFormat.TYPE_INSTALL_SNAPSHOT_RESPONSE:
            {
                snapshotResponse.wrap(frame, body);
                final byte[] id = getVar(end);
                if (id == MALFORMED)
                {
                    return null;
                }
                return new InstallSnapshotResponse(from, selfId, term, string(id), snapshotResponse.nextOffset(), snapshotResponse.done());
            }
            case WireFormat.TYPE_READ_INDEX_REQUEST:
                return new ReadIndexRequest(from, selfId, term, readIndexRequest.wrap(frame, body).readId());

            case WireFormat.TYPE_READ_INDEX_RESPONSE:
                readIndexResponse.wrap(frame, body);
                return new ReadIndexResponse(from, selfId, term, readIndexResponse.readId(), readIndexResponse.readIndex(),
                    readIndexResponse.ok(), readIndexResponse.leaderId());

            case WireFormat.TYPE_INTRODUCE:
            {
                final byte[] endpoint = getVar(end);
                return endpoint == null || endpoint == MALFORMED ? null : new Introduce(from, selfId, term, string(endpoint));
            }
            default:
                return new TimeoutNow(from, selfId, term);
        }
    }

    private RaftMessage decodeAppendEntries(final long from, final long term, final int end)
    {
        appendRequest.wrap(frame, HEADER_LENGTH);
        final long prevTerm = appendRequest.prevLogTerm();
        final long prevIndex = appendRequest.prevLogIndex();
        if (prevTerm < 0 || prevIndex < 0 || cursor + ENTRY_GROUP_HEADER_LENGTH > end)
        {
            return null;
        }
        entryGroup.wrap(frame, cursor);
        final int entryBlockLength = entryGroup.entryBlockLength();
        final int count = entryGroup.count();
        cursor += ENTRY_GROUP_HEADER_LENGTH;
        if (entryBlockLength < ENTRY_BLOCK_LENGTH || count < 0 || count > (end - cursor) / entryBlockLength)
        {
            return null;
        }
        final int first = cursor;
        for (int i = 0; i < count; i++)
        {
            if (cursor + entryBlockLength > end)
            {
                return null;
            }
            entry.wrap(frame, cursor);
            final long entryTerm = entry.term();
            final long entryIndex = entry.index();
            final int typeCode = entry.type();
            final int payloadLength = entry.payloadLength();
            cursor += entryBlockLength;
            if (entryTerm < 0 || entryIndex < 1 || !KNOWN_ENTRY_TYPE[typeCode] ||
                payloadLength < 0 || payloadLength > end - cursor)
            {
                return null;
            }
            cursor += payloadLength;
        }
        // Checked: the request reads its entries where they lie in the frame.
        appendEntries.set(from, selfId, term, prevTerm, prevIndex, appendRequest.leaderCommit(), appendRequest.seq())
            .entries().wrap(frame, first, count, entryBlockLength);
        return appendEntries;
    }

    private RaftMessage decodeInstallSnapshot(final long from, final long term, final int end)
    {
        snapshotRequest.wrap(frame, HEADER_LENGTH);
        final long lastTerm = snapshotRequest.lastIncludedTerm();
        final long lastIndex = snapshotRequest.lastIncludedIndex();
        if (lastTerm < 0 || lastIndex < 0)
        {
            return null;
        }
        final byte[] id = getVar(end);
        final byte[] membershipBytes = id == MALFORMED ? MALFORMED : getVar(end);
        final byte[] chunk = membershipBytes == MALFORMED ? MALFORMED : getVar(end);
        if (chunk == MALFORMED)
        {
            return null;
        }
        Membership membership = null;
        if (membershipBytes != null)
        {
            try
            {
                membership = Membership.decode(membershipBytes);
            }
            catch (final IllegalArgumentException ex)
            {
                return null;
            }
        }
        final SnapshotMeta meta = new SnapshotMeta(
            new LogId(lastTerm, lastIndex), membership, string(id), snapshotRequest.sizeBytes(), snapshotRequest.crc32c());
        return new InstallSnapshotRequest(from, selfId, term, meta, snapshotRequest.chunkOffset(), chunk, snapshotRequest.done());
    }

    /** Reads a length-prefixed field at the cursor: its bytes, null for length -1, or MALFORMED. */
    private byte[] getVar(final int end)
    {
        if (cursor + VAR_LENGTH_PREFIX > end)
        {
            return MALFORMED;
        }
        final int length = frame.getInt(cursor, LITTLE_ENDIAN);
        cursor += VAR_LENGTH_PREFIX;
        if (length == -1)
        {
            return null;
        }
        if (length < 0 || length > end - cursor)
        {
            return MALFORMED;
        }
        final byte[] bytes = new byte[length];
        frame.getBytes(cursor, bytes);
        cursor += length;
        return bytes;
    }

    private static String string(final byte[] utf8)
    {
        return utf8 == null ? null : new String(utf8, StandardCharsets.UTF_8);
    }

    private RaftMessage drop(final DropReason reason)
    {
        lastDropReason = reason;
        return null;
    }
}
