package io.ringraft.transport.aeron;

import io.ringraft.EntryBatch;
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
import org.agrona.MutableDirectBuffer;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

import static java.nio.ByteOrder.LITTLE_ENDIAN;
import static io.ringraft.transport.aeron.WireFormat.BLOCK_LENGTH;
import static io.ringraft.transport.aeron.WireFormat.ENTRY_GROUP_HEADER_LENGTH;
import static io.ringraft.transport.aeron.WireFormat.HEADER_LENGTH;
import static io.ringraft.transport.aeron.WireFormat.VAR_LENGTH_PREFIX;

/**
 * Encodes {@link RaftMessage}s into frames of the wire format. Votes, AppendEntries, ReadIndex and
 * their responses and TimeoutNow encode without allocating; an InstallSnapshot message converts its
 * snapshot id and membership to bytes once and reuses them while the same objects come again (the
 * chunks of one snapshot), and so does an Introduce its endpoint. One encoder per sending thread.
 */
public final class WireEncoder
{
    private final int clusterId;
    private final int maxMessageLength;
    private final int headerFlags;
    private final MessageHeaderFlyweight header = new MessageHeaderFlyweight();
    private final VoteRequestFlyweight voteRequest = new VoteRequestFlyweight();
    private final VoteResponseFlyweight voteResponse = new VoteResponseFlyweight();
    private final AppendEntriesRequestFlyweight appendRequest = new AppendEntriesRequestFlyweight();
    private final EntryGroupFlyweight entryGroup = new EntryGroupFlyweight();
    private final AppendEntriesResponseFlyweight appendResponse = new AppendEntriesResponseFlyweight();
    private final InstallSnapshotRequestFlyweight snapshotRequest = new InstallSnapshotRequestFlyweight();
    private final InstallSnapshotResponseFlyweight snapshotResponse = new InstallSnapshotResponseFlyweight();
    private final ReadIndexRequestFlyweight readIndexRequest = new ReadIndexRequestFlyweight();
    private final ReadIndexResponseFlyweight readIndexResponse = new ReadIndexResponseFlyweight();

    private final Utf8Cache snapshotIds = new Utf8Cache();
    private final Utf8Cache endpoints = new Utf8Cache();
    private Membership cachedMembership;
    private byte[] cachedMembershipBytes;

    /**
     * @param clusterId        written into every header
     * @param maxMessageLength the longest frame this encoder writes
     */
    public WireEncoder(final int clusterId, final int maxMessageLength)
    {
        this(clusterId, maxMessageLength, 0);
    }

    /**
     * @param clusterId        written into every header
     * @param maxMessageLength the longest frame this encoder writes (without a trailer appended later)
     * @param headerFlags      written into every header: {@link WireFormat#FLAG_AUTHENTICATED} when the
     *                         caller appends a {@link FrameAuthenticator} trailer, else 0
     */
    public WireEncoder(final int clusterId, final int maxMessageLength, final int headerFlags)
    {
        if (maxMessageLength < HEADER_LENGTH)
        {
            throw new IllegalArgumentException("maxMessageLength=" + maxMessageLength + " is shorter than the header");
        }
        this.clusterId = clusterId;
        this.maxMessageLength = maxMessageLength;
        this.headerFlags = headerFlags;
    }

    /** @return the longest frame this encoder writes */
    public int maxMessageLength()
    {
        return maxMessageLength;
    }

    /**
     * @param message a message
     * @return the exact length of its frame
     * @throws IllegalArgumentException if the message has a null field the format cannot carry
     *                                  (a log id, a snapshot meta, an entry type, an endpoint)
     */
    public long encodedLength(final RaftMessage message)
    {
        Objects.requireNonNull(message, "message");
        final int type = typeOf(message);
        long length = HEADER_LENGTH + BLOCK_LENGTH[type];
        if (message instanceof AppendEntriesRequest r)
        {
            final EntryBatch entries = r.entries();
            final long payloadBytes = entries.encodedLength() - (long)entries.size() * EntryBatch.ENTRY_HEADER_LENGTH;
            length = WireFormat.appendEntriesLength(entries.size(), payloadBytes);
        }
        else if (message instanceof InstallSnapshotRequest r)
        {
            final SnapshotMeta meta = requireMeta(r);
            length += varLength(snapshotIds.bytes(meta.snapshotId())) + varLength(membershipBytes(meta.membership())) + varLength(r.chunk());
        }
        else if (message instanceof InstallSnapshotResponse r)
        {
            length += varLength(snapshotIds.bytes(r.snapshotId()));
        }
        else if (message instanceof Introduce r)
        {
            length += varLength(endpoints.bytes(requireEndpoint(r)));
        }
        return length;
    }

    /**
     * Writes {@code message} as one frame at {@code offset}.
     *
     * @param message the message
     * @param buffer  where to write; grown if expandable
     * @param offset  where the frame starts
     * @return the frame length
     * @throws MessageTooLargeException if the frame would be longer than {@link #maxMessageLength()}
     * @throws IllegalArgumentException if the term is negative or a field the format needs is null
     * @throws IndexOutOfBoundsException if a fixed-size buffer is too small for the frame
     */
    public int encode(final RaftMessage message, final MutableDirectBuffer buffer, final int offset)
    {
        final long longLength = encodedLength(message);
        if (longLength > maxMessageLength)
        {
            throw new MessageTooLargeException(describe(message), longLength, maxMessageLength);
        }
        if (message.term() < 0)
        {
            throw new IllegalArgumentException("negative term: " + message);
        }
        final int length = (int)longLength;
        buffer.checkLimit(offset + length);
        final int type = typeOf(message);
        header.wrap(buffer, offset).write(
            type, headerFlags, BLOCK_LENGTH[type], length - HEADER_LENGTH, clusterId, message.from(), message.to(), message.term());
        final int body = offset + HEADER_LENGTH;

        if (message instanceof AppendEntriesRequest r)
        {
            encodeAppendEntries(r, buffer, body);
        }
        else if (message instanceof AppendEntriesResponse r)
        {
            appendResponse.wrap(buffer, body).write(r.success(), r.matchIndex(), r.conflictTerm(), r.conflictIndex(), r.seq());
        }
        else if (message instanceof VoteRequest r)
        {
            final LogId last = requireLogId(r.lastLogId(), r);
            voteRequest.wrap(buffer, body).write(last.term(), last.index(), r.preVote(), r.transfer());
        }
        else if (message instanceof VoteResponse r)
        {
            voteResponse.wrap(buffer, body).write(r.granted(), r.preVote());
        }
        else if (message instanceof InstallSnapshotRequest r)
        {
            final SnapshotMeta meta = r.meta();
            snapshotRequest.wrap(buffer, body).write(
                meta.lastIncluded().term(), meta.lastIncluded().index(), r.offset(), meta.sizeBytes(), meta.crc32c(), r.done());
            int cursor = body + BLOCK_LENGTH[type];
            cursor = putVar(buffer, cursor, snapshotIds.bytes(meta.snapshotId()));
            cursor = putVar(buffer, cursor, membershipBytes(meta.membership()));
            putVar(buffer, cursor, r.chunk());
        }
        else if (message instanceof InstallSnapshotResponse r)
        {
            snapshotResponse.wrap(buffer, body).write(r.nextOffset(), r.done());
            putVar(buffer, body + BLOCK_LENGTH[type], snapshotIds.bytes(r.snapshotId()));
        }
        else if (message instanceof ReadIndexRequest r)
        {
            readIndexRequest.wrap(buffer, body).write(r.readId());
        }
        else if (message instanceof ReadIndexResponse r)
        {
            readIndexResponse.wrap(buffer, body).write(r.readId(), r.readIndex(), r.ok(), r.leaderId());
        }
        else if (message instanceof Introduce r)
        {
            putVar(buffer, body + BLOCK_LENGTH[type], endpoints.bytes(r.endpoint()));
        }
        // TimeoutNow has an empty body.
        return length;
    }

    private void encodeAppendEntries(final AppendEntriesRequest r, final MutableDirectBuffer buffer, final int body)
    {
        appendRequest.wrap(buffer, body).write(r.prevLogTerm(), r.prevLogIndex(), r.leaderCommit(), r.seq());
        final EntryBatch entries = r.entries();
        final int cursor = body + BLOCK_LENGTH[WireFormat.TYPE_APPEND_ENTRIES_REQUEST];
        entryGroup.wrap(buffer, cursor).write(entries.size());
        // The wire's entry blocks are EntryBatch's layout: one copy of the whole batch.
        entries.copyTo(buffer, cursor + ENTRY_GROUP_HEADER_LENGTH);
    }

    private static int putVar(final MutableDirectBuffer buffer, final int cursor, final byte[] bytes)
    {
        if (bytes == null)
        {
            buffer.putInt(cursor, -1, LITTLE_ENDIAN);
            return cursor + VAR_LENGTH_PREFIX;
        }
        buffer.putInt(cursor, bytes.length, LITTLE_ENDIAN);
        buffer.putBytes(cursor + VAR_LENGTH_PREFIX, bytes);
        return cursor + VAR_LENGTH_PREFIX + bytes.length;
    }

    private static long varLength(final byte[] bytes)
    {
        return VAR_LENGTH_PREFIX + (bytes == null ? 0 : bytes.length);
    }

    private byte[] membershipBytes(final Membership membership)
    {
        if (membership == null)
        {
            return null;
        }
        if (membership != cachedMembership)
        {
            cachedMembershipBytes = membership.encode();
            cachedMembership = membership;
        }
        return cachedMembershipBytes;
    }

    private static SnapshotMeta requireMeta(final InstallSnapshotRequest r)
    {
        if (r.meta() == null || r.meta().lastIncluded() == null)
        {
            throw new IllegalArgumentException("InstallSnapshotRequest needs a meta with lastIncluded: " + r);
        }
        return r.meta();
    }

    private static String requireEndpoint(final Introduce r)
    {
        if (r.endpoint() == null)
        {
            throw new IllegalArgumentException("Introduce needs an endpoint: " + r);
        }
        return r.endpoint();
    }

    private static LogId requireLogId(final LogId logId, final RaftMessage message)
    {
        if (logId == null)
        {
            throw new IllegalArgumentException("null log id in " + message);
        }
        return logId;
    }

    private static String describe(final RaftMessage message)
    {
        if (message instanceof AppendEntriesRequest r)
        {
            return "AppendEntriesRequest " + r.from() + "->" + r.to() + " with " + r.entries().size() + " entries";
        }
        return message.getClass().getSimpleName() + " " + message.from() + "->" + message.to();
    }

    static int typeOf(final RaftMessage message)
    {
        if (message instanceof AppendEntriesRequest)
        {
            return WireFormat.TYPE_APPEND_ENTRIES_REQUEST;
        }
        if (message instanceof AppendEntriesResponse)
        {
            return WireFormat.TYPE_APPEND_ENTRIES_RESPONSE;
        }
        if (message instanceof VoteRequest)
        {
            return WireFormat.TYPE_VOTE_REQUEST;
        }
        if (message instanceof VoteResponse)
        {
            return WireFormat.TYPE_VOTE_RESPONSE;
        }
        if (message instanceof InstallSnapshotRequest)
        {
            return WireFormat.TYPE_INSTALL_SNAPSHOT_REQUEST;
        }
        if (message instanceof InstallSnapshotResponse)
        {
            return WireFormat.TYPE_INSTALL_SNAPSHOT_RESPONSE;
        }
        if (message instanceof TimeoutNow)
        {
            return WireFormat.TYPE_TIMEOUT_NOW;
        }
        if (message instanceof ReadIndexRequest)
        {
            return WireFormat.TYPE_READ_INDEX_REQUEST;
        }
        if (message instanceof ReadIndexResponse)
        {
            return WireFormat.TYPE_READ_INDEX_RESPONSE;
        }
        if (message instanceof Introduce)
        {
            return WireFormat.TYPE_INTRODUCE;
        }
        throw new IllegalArgumentException("not a known message type: " + message.getClass());
    }

    /** A string's UTF-8 bytes, converted once while the same string object comes again. */
    private static final class Utf8Cache
    {
        private String text;
        private byte[] utf8;

        byte[] bytes(final String text)
        {
            if (text == null)
            {
                return null;
            }
            if (text != this.text)
            {
                utf8 = text.getBytes(StandardCharsets.UTF_8);
                this.text = text;
            }
            return utf8;
        }
    }
}
