package io.ringraft.storage.chronicle;

import io.ringraft.Vote;
import io.ringraft.storage.RaftStorageException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

/**
 * The vote (term, voted-for, committed) in a file of two fixed slots. A save overwrites the
 * older slot with a higher sequence number and a CRC32C, then fsyncs; a read takes the valid
 * slot with the highest sequence. A kill or power loss in the middle of a save leaves the other
 * slot, the previous vote, intact, so the store is never half-written.
 */
final class FileVoteStore implements AutoCloseable
{
    static final String FILE_NAME = "vote";

    private static final int MAGIC = 0x52564f54; // "RVOT"
    private static final int SLOT_LENGTH = 64;
    private static final int CRC_OFFSET = SLOT_LENGTH - 4;

    private final Path file;
    private final FileChannel channel;
    private final ByteBuffer slot = ByteBuffer.allocate(SLOT_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
    private final CRC32C crc = new CRC32C();
    private long sequence;
    private Vote vote;

    private FileVoteStore(final Path file, final FileChannel channel)
    {
        this.file = file;
        this.channel = channel;
    }

    /** Creates the vote file holding {@link Vote#INITIAL}, atomically and durably. */
    static void create(final Path file)
    {
        final ByteBuffer content = ByteBuffer.allocate(2 * SLOT_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        // Sequence 1 lives in slot 1 (sequence & 1), so the first save goes to the other slot.
        encode(content, SLOT_LENGTH, 1, Vote.INITIAL, new CRC32C());
        AtomicFiles.replace(file, content.array(), true);
    }

    /**
     * Opens an existing vote file.
     *
     * @throws RaftStorageException if it cannot be read or neither slot is valid
     */
    static FileVoteStore open(final Path file)
    {
        final FileChannel channel;
        try
        {
            channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
        }
        catch (final IOException ex)
        {
            throw new RaftStorageException("cannot open vote file " + file + ": " + ex, ex);
        }
        final FileVoteStore store = new FileVoteStore(file, channel);
        try
        {
            store.load();
        }
        catch (final RuntimeException ex)
        {
            store.close();
            throw ex;
        }
        return store;
    }

    /** Reads the vote in an existing file without keeping it open. */
    static Vote read(final Path file)
    {
        try (FileVoteStore store = open(file))
        {
            return store.vote();
        }
    }

    Vote vote()
    {
        return vote;
    }

    /** Saves {@code newVote} durably (fsync) before returning. */
    void save(final Vote newVote)
    {
        final long next = sequence + 1;
        slot.clear();
        encode(slot, 0, next, newVote, crc);
        slot.flip();
        try
        {
            final long position = (next & 1) * SLOT_LENGTH;
            int written = 0;
            while (slot.hasRemaining())
            {
                written += channel.write(slot, position + written);
            }
            channel.force(false);
        }
        catch (final IOException ex)
        {
            throw new RaftStorageException("cannot save vote " + newVote + " to " + file + ": " + ex, ex);
        }
        sequence = next;
        vote = newVote;
    }

    @Override
    public void close()
    {
        try
        {
            channel.close();
        }
        catch (final IOException ex)
        {
            throw new RaftStorageException("cannot close vote file " + file + ": " + ex, ex);
        }
    }

    private void load()
    {
        final ByteBuffer content = ByteBuffer.allocate(2 * SLOT_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        try
        {
            while (content.hasRemaining() && channel.read(content, content.position()) > 0)
            {
                // keep reading until both slots are in
            }
        }
        catch (final IOException ex)
        {
            throw new RaftStorageException("cannot read vote file " + file + ": " + ex, ex);
        }
        long bestSequence = 0;
        Vote best = null;
        for (int i = 0; i < 2; i++)
        {
            final int base = i * SLOT_LENGTH;
            if (content.position() < base + SLOT_LENGTH || content.getInt(base) != MAGIC)
            {
                continue;
            }
            crc.reset();
            crc.update(content.array(), base, CRC_OFFSET);
            if ((int)crc.getValue() != content.getInt(base + CRC_OFFSET))
            {
                continue;
            }
            final long seq = content.getLong(base + 4);
            if (seq > bestSequence)
            {
                bestSequence = seq;
                best = new Vote(content.getLong(base + 12), content.getLong(base + 20), content.get(base + 28) != 0);
            }
        }
        if (best == null)
        {
            throw new RaftStorageException("vote file " + file + " holds no valid vote (both slots fail their CRC32C)");
        }
        sequence = bestSequence;
        vote = best;
    }

    private static void encode(final ByteBuffer buffer, final int base, final long sequence, final Vote vote, final CRC32C crc)
    {
        buffer.putInt(base, MAGIC);
        buffer.putLong(base + 4, sequence);
        buffer.putLong(base + 12, vote.term());
        buffer.putLong(base + 20, vote.votedFor());
        buffer.put(base + 28, (byte)(vote.committed() ? 1 : 0));
        for (int i = base + 29; i < base + CRC_OFFSET; i++)
        {
            buffer.put(i, (byte)0);
        }
        crc.reset();
        crc.update(buffer.array(), base, CRC_OFFSET);
        buffer.putInt(base + CRC_OFFSET, (int)crc.getValue());
        buffer.position(base + SLOT_LENGTH);
    }
}
