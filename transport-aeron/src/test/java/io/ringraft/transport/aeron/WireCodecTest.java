package io.ringraft.transport.aeron;

import io.ringraft.Entry;
import io.ringraft.EntryType;
import io.ringraft.LogId;
import io.ringraft.network.AppendEntriesRequest;
import io.ringraft.network.Introduce;
import io.ringraft.network.RaftMessage;
import io.ringraft.network.TimeoutNow;
import io.ringraft.network.VoteRequest;
import io.ringraft.testkit.conformance.RaftNetworkConformance;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static io.ringraft.transport.aeron.WireFormat.HEADER_LENGTH;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WireCodecTest
{
    private static final int CLUSTER = 7;
    private static final int MAX = 64 * 1024;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private final WireEncoder encoder = new WireEncoder(CLUSTER, MAX);
    private final WireDecoder decoder = new WireDecoder(CLUSTER, 2, id -> id == 1 || id == 3, MAX);
    private final UnsafeBuffer buffer = new UnsafeBuffer(new byte[MAX + 64]);

    @Test
    void everyMessageTypeRoundTrips()
    {
        for (final int offset : new int[]{0, 13})
        {
            for (final RaftMessage message : RaftNetworkConformance.everyMessageType(1, 2))
            {
                final int length = encoder.encode(message, buffer, offset);
                assertEquals(encoder.encodedLength(message), length, "encodedLength of " + message);
                final RaftMessage decoded = decoder.decode(buffer, offset, length);
                assertNotNull(decoded, () -> "dropped " + decoder.lastDropReason() + ": " + message);
                RaftNetworkConformance.assertSameMessage(message, decoded);
            }
        }
    }

    @Test
    void headerAndVoteRequestLayoutIsAsDocumented()
    {
        final int length = encoder.encode(new VoteRequest(1, 2, 9, new LogId(4, 17), false, true), buffer, 0);
        assertEquals(HEADER_LENGTH + 17, length);
        assertEquals(0x5252, buffer.getShort(0, LE));
        assertEquals(1, buffer.getByte(2), "version");
        assertEquals(WireFormat.TYPE_VOTE_REQUEST, buffer.getByte(3), "type");
        assertEquals(17, buffer.getShort(4, LE), "blockLength");
        assertEquals(0, buffer.getShort(6, LE), "reserved");
        assertEquals(17, buffer.getInt(8, LE), "bodyLength");
        assertEquals(CLUSTER, buffer.getInt(12, LE), "clusterId");
        assertEquals(1, buffer.getLong(16, LE), "senderId");
        assertEquals(2, buffer.getLong(24, LE), "receiverId");
        assertEquals(9, buffer.getLong(32, LE), "term");
        assertEquals(4, buffer.getLong(40, LE), "lastLogTerm");
        assertEquals(17, buffer.getLong(48, LE), "lastLogIndex");
        assertEquals(2, buffer.getByte(56), "flags: transfer");
    }

    @Test
    void appendEntriesLengthPredictsTheFrameLength()
    {
        final Random random = new Random(3);
        for (int round = 0; round < 100; round++)
        {
            final List<Entry> entries = new ArrayList<>();
            long payload = 0;
            for (int i = 0, n = random.nextInt(50); i < n; i++)
            {
                final byte[] bytes = new byte[random.nextInt(300)];
                entries.add(new Entry(2, 11 + i, EntryType.NORMAL, bytes));
                payload += bytes.length;
            }
            final AppendEntriesRequest request = new AppendEntriesRequest(1, 2, 2, new LogId(2, 10), 5, round, entries);
            assertEquals(WireFormat.appendEntriesLength(entries.size(), payload), encoder.encode(request, buffer, 0));
        }
    }

    @Test
    void tooLargeMessageIsRejectedBeforeAnythingIsWritten()
    {
        final WireEncoder small = new WireEncoder(CLUSTER, 1024);
        final UnsafeBuffer target = new UnsafeBuffer(new byte[4096]);
        final AppendEntriesRequest request = new AppendEntriesRequest(1, 2, 2, new LogId(2, 10), 5, 1,
            List.of(new Entry(2, 11, EntryType.NORMAL, new byte[500]), new Entry(2, 12, EntryType.NORMAL, new byte[500])));
        final MessageTooLargeException ex = assertThrows(MessageTooLargeException.class, () -> small.encode(request, target, 0));
        assertEquals(WireFormat.appendEntriesLength(2, 1000), ex.length());
        assertEquals(1024, ex.maxLength());
        assertTrue(ex.getMessage().contains("maxMessageLength=1024"), ex.getMessage());
        assertTrue(ex.getMessage().contains("2 entries"), ex.getMessage());
        for (int i = 0; i < target.capacity(); i++)
        {
            assertEquals(0, target.getByte(i), "byte " + i + " written");
        }
    }

    @Test
    void negativeTermIsRejected()
    {
        assertThrows(IllegalArgumentException.class, () -> encoder.encode(new TimeoutNow(1, 2, -1), buffer, 0));
    }

    @Test
    void frameFromANewerMinorVersionWithAppendedFieldsDecodes()
    {
        // A newer sender appended 8 bytes to the VoteRequest block, set a flag bit this version does
        // not know, set header flags this version does not know, and appended bytes after the body's known fields.
        final VoteRequest message = new VoteRequest(3, 2, 9, new LogId(4, 17), true, false);
        final int length = encoder.encode(message, buffer, 0);
        final int block = 17 + 8;
        final int newLength = HEADER_LENGTH + block + 5;
        buffer.putShort(4, (short)block, LE);
        buffer.putShort(6, (short)(0x7FFF & ~WireFormat.FLAG_AUTHENTICATED), LE);
        buffer.putInt(8, newLength - HEADER_LENGTH, LE);
        buffer.putByte(56, (byte)(buffer.getByte(56) | 0x80));
        buffer.setMemory(length, newLength - length, (byte)0x5A);
        assertEquals(message, decoder.decode(buffer, 0, newLength));
    }

    @Test
    void appendEntriesWithLongerEntryBlocksDecodes()
    {
        // Entries of a newer sender carry 4 more bytes in their fixed part.
        final int extra = 4;
        final List<Entry> entries = List.of(new Entry(5, 11, EntryType.NORMAL, new byte[]{9, 8, 7}), Entry.blank(5, 12));
        int cursor = HEADER_LENGTH + 32;
        new AppendEntriesRequestFlyweight().wrap(buffer, HEADER_LENGTH).write(5, 10, 9, 77);
        buffer.putShort(cursor, (short)(WireFormat.ENTRY_BLOCK_LENGTH + extra), LE);
        buffer.putShort(cursor + 2, (short)0, LE);
        buffer.putInt(cursor + 4, entries.size(), LE);
        cursor += WireFormat.ENTRY_GROUP_HEADER_LENGTH;
        final EntryFlyweight entry = new EntryFlyweight();
        for (final Entry e : entries)
        {
            entry.wrap(buffer, cursor).write(e.term(), e.index(), e.payload().length, e.type().code());
            buffer.putInt(cursor + WireFormat.ENTRY_BLOCK_LENGTH, 0xDEADBEEF, LE);
            cursor += WireFormat.ENTRY_BLOCK_LENGTH + extra;
            buffer.putBytes(cursor, e.payload());
            cursor += e.payload().length;
        }
        new MessageHeaderFlyweight().wrap(buffer, 0)
            .write(WireFormat.TYPE_APPEND_ENTRIES_REQUEST, 32, cursor - HEADER_LENGTH, CLUSTER, 1, 2, 5);
        assertEquals(new AppendEntriesRequest(1, 2, 5, new LogId(5, 10), 9, 77, entries), decoder.decode(buffer, 0, cursor));
    }

    @Test
    void eachCheckDropsWithItsReason()
    {
        final int length = encoder.encode(new TimeoutNow(1, 2, 4), buffer, 0);
        assertDropped(DropReason.TOO_SHORT, 0, HEADER_LENGTH - 1);
        assertDropped(DropReason.TOO_LONG, 0, MAX + 1);
        assertDroppedAfter(DropReason.BAD_MAGIC, () -> buffer.putByte(0, (byte)0x53), length);
        assertDroppedAfter(DropReason.UNSUPPORTED_VERSION, () -> buffer.putByte(2, (byte)2), length);
        assertDroppedAfter(DropReason.WRONG_CLUSTER, () -> buffer.putInt(12, CLUSTER + 1, LE), length);
        assertDroppedAfter(DropReason.WRONG_RECEIVER, () -> buffer.putLong(24, 3, LE), length);
        assertDroppedAfter(DropReason.UNKNOWN_SENDER, () -> buffer.putLong(16, 4, LE), length);
        assertDroppedAfter(DropReason.UNKNOWN_SENDER, () -> buffer.putLong(16, 2, LE), length);
        assertDroppedAfter(DropReason.UNKNOWN_TYPE, () -> buffer.putByte(3, (byte)(WireFormat.TYPE_INTRODUCE + 1)), length);
        assertDroppedAfter(DropReason.BAD_LENGTH, () -> buffer.putInt(8, 1, LE), length);
        assertDroppedAfter(DropReason.MALFORMED_BODY, () -> buffer.putLong(32, -1, LE), length);

        final int voteLength = encoder.encode(new VoteRequest(1, 2, 9, new LogId(4, 17), false, true), buffer, 0);
        assertDroppedAfter(DropReason.MALFORMED_BODY, () -> buffer.putShort(4, (short)16, LE), voteLength);
    }

    @Test
    void introduceLayoutIsAsDocumented()
    {
        final int length = encoder.encode(new Introduce(1, 2, 9, "h\u00e9:1"), buffer, 0);
        assertEquals(HEADER_LENGTH + 4 + 5, length);
        assertEquals(WireFormat.TYPE_INTRODUCE, buffer.getByte(3), "type");
        assertEquals(0, buffer.getShort(4, LE), "block length");
        assertEquals(5, buffer.getInt(HEADER_LENGTH, LE), "endpoint length in UTF-8 bytes");
        assertEquals("h\u00e9:1", buffer.getStringWithoutLengthUtf8(HEADER_LENGTH + 4, 5));
    }

    /** Node 4 is not a peer of node 2 (the decoder knows 1 and 3): only its introductions pass, and only through the gate. */
    @Test
    void anIntroductionIsTheOneFrameAStrangerMaySendAndItPassesTheGate()
    {
        final List<Long> asked = new ArrayList<>();
        final boolean[] admit = {true};
        final WireDecoder gated = new WireDecoder(CLUSTER, 2, id -> id == 1 || id == 3, MAX, null, null, null, id ->
        {
            asked.add(id);
            return admit[0];
        });
        final Introduce introduce = new Introduce(4, 2, 7, "127.0.0.1:40004");
        int length = encoder.encode(introduce, buffer, 0);
        assertEquals(introduce, gated.decode(buffer, 0, length));
        assertEquals(List.of(4L), asked, "asked for the stranger");
        admit[0] = false;
        assertNull(gated.decode(buffer, 0, length));
        assertEquals(DropReason.INTRODUCTION_LIMITED, gated.lastDropReason());
        assertNull(decoder.decode(buffer, 0, length), "a decoder without the gate drops it like any stranger's frame");
        assertEquals(DropReason.UNKNOWN_SENDER, decoder.lastDropReason());

        length = encoder.encode(new TimeoutNow(4, 2, 7), buffer, 0);
        assertNull(gated.decode(buffer, 0, length), "any other frame of a stranger");
        assertEquals(DropReason.UNKNOWN_SENDER, gated.lastDropReason());
        length = encoder.encode(new Introduce(2, 2, 7, "127.0.0.1:40002"), buffer, 0);
        assertNull(gated.decode(buffer, 0, length), "from itself");
        assertEquals(DropReason.UNKNOWN_SENDER, gated.lastDropReason());

        asked.clear();
        final Introduce fromPeer = new Introduce(3, 2, 7, "127.0.0.1:40003");
        length = encoder.encode(fromPeer, buffer, 0);
        assertEquals(fromPeer, gated.decode(buffer, 0, length), "a peer's introduction needs no gate");
        assertEquals(List.of(), asked);
    }

    @Test
    void aMalformedIntroductionIsDroppedNotThrown()
    {
        final WireDecoder gated = new WireDecoder(CLUSTER, 2, id -> id == 1, MAX, null, null, null, id -> true);
        final int length = encoder.encode(new Introduce(4, 2, 7, "127.0.0.1:40004"), buffer, 0);
        for (final int endpointLength : new int[]{-1, -2, 16, Integer.MAX_VALUE, Integer.MIN_VALUE})
        {
            final byte[] saved = new byte[length];
            buffer.getBytes(0, saved);
            buffer.putInt(HEADER_LENGTH, endpointLength, LE);
            assertNull(gated.decode(buffer, 0, length), "endpoint length " + endpointLength);
            assertEquals(DropReason.MALFORMED_BODY, gated.lastDropReason());
            buffer.putBytes(0, saved);
        }
        new MessageHeaderFlyweight().wrap(buffer, 0).write(WireFormat.TYPE_INTRODUCE, 0, 2, CLUSTER, 4, 2, 7);
        assertNull(gated.decode(buffer, 0, HEADER_LENGTH + 2), "no room for the length prefix");
        assertEquals(DropReason.MALFORMED_BODY, gated.lastDropReason());
    }

    @Test
    void encodingTheHotPathMessagesAllocatesNothing()
    {
        final com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        final List<Entry> entries = new ArrayList<>();
        for (int i = 0; i < 32; i++)
        {
            entries.add(new Entry(3, 101 + i, EntryType.NORMAL, new byte[100]));
        }
        final List<RaftMessage> messages = new ArrayList<>(RaftNetworkConformance.everyMessageType(1, 2));
        messages.add(new AppendEntriesRequest(1, 2, 3, new LogId(3, 100), 90, 5, entries));
        long sink = 0;
        for (int i = 0; i < 20_000; i++)
        {
            sink += encoder.encode(messages.get(i % messages.size()), buffer, 0);
        }
        final long before = threads.getCurrentThreadAllocatedBytes();
        for (int i = 0; i < 100_000; i++)
        {
            sink += encoder.encode(messages.get(i % messages.size()), buffer, 0);
        }
        final long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        assertTrue(sink > 0);
        // 100k encodes allocating even one small object each would be megabytes; allow the probe's own noise.
        assertTrue(allocated < 64 * 1024, "bytes allocated by 100k encodes: " + allocated);
    }

    private void assertDroppedAfter(final DropReason reason, final Runnable corrupt, final int length)
    {
        final byte[] saved = new byte[length];
        buffer.getBytes(0, saved);
        corrupt.run();
        assertDropped(reason, 0, length);
        buffer.putBytes(0, saved);
        assertNotNull(decoder.decode(buffer, 0, length), "restored frame decodes");
    }

    private void assertDropped(final DropReason reason, final int offset, final int length)
    {
        assertNull(decoder.decode(buffer, offset, length));
        assertEquals(reason, decoder.lastDropReason());
    }
}
