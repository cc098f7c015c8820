package io.ringraft;

import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.util.List;

import static java.nio.ByteOrder.LITTLE_ENDIAN;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EntryBatchTest
{
    private static final List<Entry> ENTRIES = List.of(
        new Entry(3, 10, EntryType.NORMAL, new byte[] {1, 2, 3}),
        new Entry(3, 11, EntryType.BLANK, new byte[0]),
        new Entry(4, 12, EntryType.MEMBERSHIP, Membership.of(1, 2, 3).encode()),
        new Entry(4, 13, EntryType.NORMAL, new byte[] {9}));

    @Test
    void entriesReadBackInPlace()
    {
        final EntryBatch batch = EntryBatch.of(ENTRIES);
        assertEquals(4, batch.size());
        for (int i = 0; i < ENTRIES.size(); i++)
        {
            final Entry e = ENTRIES.get(i);
            assertEquals(e.term(), batch.term(i));
            assertEquals(e.index(), batch.index(i));
            assertEquals(e.type(), batch.type(i));
            assertEquals(e.payload().length, batch.payloadLength(i));
            final byte[] payload = new byte[batch.payloadLength(i)];
            batch.buffer().getBytes(batch.payloadOffset(i), payload);
            assertArrayEquals(e.payload(), payload);
            assertEquals(e, batch.get(i));
        }
        assertEquals(ENTRIES, batch.toList());
        assertTrue(batch.wellFormed());
        assertTrue(batch.hasMembership());
        assertEquals(4, batch.lastTerm());
        assertEquals(batch.encodedLength(), batch.spanLength(0, 4));
        assertEquals(EntryBatch.encodedLength(3), batch.spanLength(0, 1));
        assertThrows(IndexOutOfBoundsException.class, () -> batch.term(4));
        assertThrows(IllegalArgumentException.class, () -> EntryBatch.of(List.of(ENTRIES.get(0), ENTRIES.get(2))), "not consecutive");
    }

    @Test
    void wrapLearnsWhetherEntriesAreFitForALog()
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[1024]);
        final EntryBatch batch = new EntryBatch();
        // A gap in the indexes.
        int at = EntryBatch.write(buffer, 0, 1, 1, EntryType.NORMAL, buffer, 0, 0);
        EntryBatch.write(buffer, at, 1, 3, EntryType.NORMAL, buffer, 0, 0);
        assertFalse(batch.wrap(buffer, 0, 2, EntryBatch.ENTRY_HEADER_LENGTH).wellFormed(), "gap");
        // A term that goes back.
        at = EntryBatch.write(buffer, 0, 2, 1, EntryType.NORMAL, buffer, 0, 0);
        EntryBatch.write(buffer, at, 1, 2, EntryType.NORMAL, buffer, 0, 0);
        assertFalse(batch.wrap(buffer, 0, 2, EntryBatch.ENTRY_HEADER_LENGTH).wellFormed(), "term back");
        // A type this version does not know.
        EntryBatch.write(buffer, 0, 1, 1, EntryType.NORMAL, buffer, 0, 0);
        buffer.putByte(20, (byte)77);
        batch.wrap(buffer, 0, 1, EntryBatch.ENTRY_HEADER_LENGTH);
        assertFalse(batch.wellFormed(), "unknown type");
        assertNull(batch.type(0));
        assertFalse(batch.hasMembership());
        assertTrue(batch.clear().wellFormed());
        assertEquals(0, batch.size());
    }

    @Test
    void wrapRefusesEntriesThatRunPastTheBuffer()
    {
        final EntryBatch source = EntryBatch.of(ENTRIES);
        final int length = source.encodedLength();
        final UnsafeBuffer bytes = new UnsafeBuffer(new byte[length]);
        source.copyTo(bytes, 0);
        final UnsafeBuffer cut = new UnsafeBuffer(bytes.byteArray(), 0, length - 1);
        assertThrows(IllegalArgumentException.class, () -> new EntryBatch().wrap(cut, 0, 4, EntryBatch.ENTRY_HEADER_LENGTH));
        assertThrows(IllegalArgumentException.class, () -> new EntryBatch().wrap(bytes, 0, 5, EntryBatch.ENTRY_HEADER_LENGTH));
        bytes.putInt(16, -1, LITTLE_ENDIAN);
        assertThrows(IllegalArgumentException.class, () -> new EntryBatch().wrap(bytes, 0, 4, EntryBatch.ENTRY_HEADER_LENGTH));
        assertThrows(IllegalArgumentException.class, () -> new EntryBatch().wrap(bytes, 0, 1, EntryBatch.ENTRY_HEADER_LENGTH - 1));
    }

    @Test
    void aLongerBlockFromALaterVersionIsReadAndRewrittenInThisLayout()
    {
        final int blockLength = EntryBatch.ENTRY_HEADER_LENGTH + 4;
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[1024]);
        int at = 0;
        for (final Entry e : ENTRIES)
        {
            EntryBatch.write(buffer, at, e.term(), e.index(), e.type(), new UnsafeBuffer(e.payload()), 0, 0);
            buffer.putInt(at + EntryBatch.ENTRY_HEADER_LENGTH, 0xCAFE); // the later version's field
            buffer.putInt(at + 16, e.payload().length, LITTLE_ENDIAN);
            buffer.putBytes(at + blockLength, e.payload());
            at += blockLength + e.payload().length;
        }
        final EntryBatch wide = new EntryBatch().wrap(buffer, 0, ENTRIES.size(), blockLength);
        assertEquals(ENTRIES, wide.toList());
        assertEquals(EntryBatch.of(ENTRIES).encodedLength(), wide.encodedLength());
        final UnsafeBuffer out = new UnsafeBuffer(new byte[wide.encodedLength()]);
        assertEquals(wide.encodedLength(), wide.copyTo(out, 0));
        assertEquals(EntryBatch.of(ENTRIES), new EntryBatch().wrap(out, 0, ENTRIES.size(), EntryBatch.ENTRY_HEADER_LENGTH));
        assertEquals(EntryBatch.of(ENTRIES), wide);
    }

    @Test
    void aCopyOwnsItsBytes()
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[256]);
        final EntryBatch source = EntryBatch.of(ENTRIES);
        source.copyTo(buffer, 0);
        final EntryBatch view = new EntryBatch().wrap(buffer, 0, ENTRIES.size(), EntryBatch.ENTRY_HEADER_LENGTH);
        final EntryBatch copy = view.copy();
        buffer.setMemory(0, buffer.capacity(), (byte)0);
        assertEquals(ENTRIES, copy.toList());
        assertNotEquals(copy, view);
    }

    @Test
    void builderKeepsToItsBudgetButAlwaysTakesTheFirstEntry()
    {
        final EntryBatch.Builder builder = new EntryBatch.Builder(16).reset(EntryBatch.encodedLength(3) + EntryBatch.encodedLength(0));
        final EntryBatch source = EntryBatch.of(ENTRIES);
        for (int i = 0; i < source.size(); i++)
        {
            if (!builder.onEntry(source.term(i), source.index(i), source.type(i), source.buffer(), source.payloadOffset(i),
                source.payloadLength(i)))
            {
                break;
            }
        }
        assertEquals(2, builder.count(), "two fit the budget");
        assertEquals(0, builder.room());
        assertEquals(ENTRIES.subList(0, 2), builder.wrapInto(new EntryBatch()).toList());

        builder.reset(1);
        assertTrue(builder.onEntry(4, 12, EntryType.MEMBERSHIP, source.buffer(), source.payloadOffset(2), source.payloadLength(2)),
            "the first entry whatever its size");
        assertFalse(builder.onEntry(4, 13, EntryType.NORMAL, source.buffer(), source.payloadOffset(3), source.payloadLength(3)));

        builder.reset(1 << 20);
        builder.appendEncoded(source.buffer(), source.entryOffset(1), source.spanLength(1, 4), 3);
        final EntryBatch built = builder.wrapInto(new EntryBatch());
        assertEquals(ENTRIES.subList(1, 4), built.toList());
        assertTrue(built.hasMembership() && built.wellFormed());
        assertEquals(new EntryBatch().wrap(built.buffer(), 0, 3, EntryBatch.ENTRY_HEADER_LENGTH), built, "what a full pass finds");
        assertEquals(built.spanLength(0, 3), source.spanLength(1, 4));

        builder.reset(1 << 20);
        assertThrows(IllegalArgumentException.class,
            () -> builder.appendEncoded(source.buffer(), source.entryOffset(0), source.spanLength(0, 2), 3), "two entries, not three");
    }

    @Test
    void checksumsAreCheckedInPlaceWhereverTheEntriesLie()
    {
        final EntryBatch source = EntryBatch.of(ENTRIES);
        final int length = source.encodedLength();
        final ByteBuffer direct = ByteBuffer.allocateDirect(length + 64);
        final List<UnsafeBuffer> buffers = List.of(
            new UnsafeBuffer(new byte[length + 7], 7, length),                                              // heap, at an offset
            new UnsafeBuffer(direct, 5, length),                                                          // off heap, a ByteBuffer at an offset
            new UnsafeBuffer(direct.duplicate().position(11).slice()),                                    // off heap, a slice
            new UnsafeBuffer(BufferUtil.address(direct) + 13, length));                                   // a raw address
        for (final UnsafeBuffer buffer : buffers)
        {
            source.copyTo(buffer, 0);
            final EntryBatch batch = new EntryBatch().wrap(buffer, 0, ENTRIES.size(), EntryBatch.ENTRY_HEADER_LENGTH);
            for (int i = 0; i < ENTRIES.size(); i++)
            {
                assertTrue(batch.checksumMatches(i), "entry " + i + " in " + buffer);
            }
            final int payload = batch.payloadOffset(0);
            buffer.putByte(payload, (byte)(buffer.getByte(payload) ^ 0x10));
            assertFalse(batch.checksumMatches(0), "a payload bit flipped");
            assertTrue(batch.checksumMatches(1));
            buffer.putByte(payload, (byte)(buffer.getByte(payload) ^ 0x10));
            final int term = batch.entryOffset(3);
            buffer.putByte(term, (byte)(buffer.getByte(term) ^ 1));
            assertFalse(batch.checksumMatches(3), "a header bit flipped");
            buffer.putByte(term, (byte)(buffer.getByte(term) ^ 1));
            assertTrue(batch.checksumMatches(3));
        }
    }

    @Test
    void checksumsOfEntriesInMoreByteBuffersThanTheCheckerKeepsViewsOf()
    {
        final EntryBatch source = EntryBatch.of(ENTRIES);
        final EntryBatch[] batches = new EntryBatch[7];
        UnsafeBuffer corrupted = null;
        for (int b = 0; b < batches.length; b++)
        {
            final UnsafeBuffer buffer = new UnsafeBuffer(ByteBuffer.allocateDirect(source.encodedLength() + b), b, source.encodedLength());
            source.copyTo(buffer, 0);
            batches[b] = new EntryBatch().wrap(buffer, 0, ENTRIES.size(), EntryBatch.ENTRY_HEADER_LENGTH);
            corrupted = b == 4 ? buffer : corrupted;
        }
        corrupted.putByte(batches[4].payloadOffset(3), (byte)42);
        for (int round = 0; round < 3; round++)
        {
            for (int b = 0; b < batches.length; b++)
            {
                for (int i = 0; i < ENTRIES.size(); i++)
                {
                    assertEquals(b != 4 || i != 3, batches[b].checksumMatches(i), "buffer " + b + " entry " + i);
                }
            }
        }
    }

    @Test
    void checkingEntriesOffHeapAllocatesNothing()
    {
        final EntryBatch source = EntryBatch.of(ENTRIES);
        final UnsafeBuffer buffer = new UnsafeBuffer(ByteBuffer.allocateDirect(source.encodedLength() + 3), 3, source.encodedLength());
        source.copyTo(buffer, 0);
        final EntryBatch batch = new EntryBatch().wrap(buffer, 0, ENTRIES.size(), EntryBatch.ENTRY_HEADER_LENGTH);
        final com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        long least = Long.MAX_VALUE;
        boolean all = true;
        for (int round = 0; round < 4; round++)
        {
            final long before = threads.getCurrentThreadAllocatedBytes();
            for (int n = 0; n < 10_000; n++)
            {
                for (int i = 0; i < ENTRIES.size(); i++)
                {
                    all &= batch.checksumMatches(i);
                }
            }
            final long allocated = threads.getCurrentThreadAllocatedBytes() - before;
            if (round > 0)
            {
                least = Math.min(least, allocated);
            }
        }
        assertTrue(all);
        assertEquals(0, least, "bytes allocated by 40,000 checks");
    }
}
