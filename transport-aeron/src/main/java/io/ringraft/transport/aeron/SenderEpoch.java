package io.ringraft.transport.aeron;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * A sender's epoch for {@link ReplayGuard}: a number greater at every start of the sender, so
 * that its sequence numbers can start again from 1 and no frame of an earlier run is taken for a
 * new one. It is the wall clock in microseconds, and, when an epoch file is given, also greater
 * than the epoch stored there (written durably before the first frame is signed), so a clock set
 * back does not reuse epochs.
 */
public final class SenderEpoch
{
    private SenderEpoch()
    {
    }

    /**
     * @param file        where the last epoch is kept (created if missing), or null to rely on the clock
     * @param nowMicros   the wall clock in microseconds
     * @return the epoch to use from now on, stored in {@code file} if one is given
     * @throws IllegalArgumentException naming the file if it cannot be read, parsed or written
     */
    public static long next(final Path file, final long nowMicros)
    {
        if (file == null)
        {
            return nowMicros;
        }
        long last = 0;
        try
        {
            if (Files.exists(file))
            {
                last = Long.parseLong(Files.readString(file).trim());
            }
        }
        catch (final IOException | NumberFormatException ex)
        {
            throw new IllegalArgumentException("auth epoch file " + file + " cannot be read: " + ex, ex);
        }
        final long epoch = Math.max(last + 1, nowMicros);
        final Path temp = file.resolveSibling(file.getFileName() + ".tmp");
        try
        {
            final Path parent = file.toAbsolutePath().getParent();
            Files.createDirectories(parent);
            try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE))
            {
                channel.write(ByteBuffer.wrap((epoch + "\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
                channel.force(true);
            }
            Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            try (FileChannel dir = FileChannel.open(parent, StandardOpenOption.READ))
            {
                dir.force(true);
            }
        }
        catch (final IOException ex)
        {
            throw new IllegalArgumentException("auth epoch file " + file + " cannot be written: " + ex, ex);
        }
        return epoch;
    }

    /** @return the wall clock in microseconds */
    public static long nowMicros()
    {
        return System.currentTimeMillis() * 1000L;
    }
}
