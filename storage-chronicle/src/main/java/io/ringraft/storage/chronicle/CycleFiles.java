package io.ringraft.storage.chronicle;

import io.ringraft.storage.RaftStorageException;
import net.openhft.chronicle.queue.RollCycle;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.TreeMap;

/** Maps roll cycles to Chronicle's cycle file names in a queue directory (epoch 0, UTC). */
final class CycleFiles
{
    static final String SUFFIX = ".cq4";

    private final Path directory;
    private final RollCycle rollCycle;
    private final DateTimeFormatter formatter;

    CycleFiles(final Path directory, final RollCycle rollCycle)
    {
        this.directory = directory;
        this.rollCycle = rollCycle;
        this.formatter = DateTimeFormatter.ofPattern(rollCycle.format()).withZone(ZoneOffset.UTC);
    }

    Path fileFor(final int cycle)
    {
        return directory.resolve(formatter.format(Instant.ofEpochMilli((long)cycle * rollCycle.lengthInMillis())) + SUFFIX);
    }

    /** @return the cycle files present, by cycle */
    TreeMap<Integer, Path> list()
    {
        final TreeMap<Integer, Path> cycles = new TreeMap<>();
        if (!Files.isDirectory(directory))
        {
            return cycles;
        }
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(directory, "*" + SUFFIX))
        {
            for (final Path file : stream)
            {
                final String name = file.getFileName().toString();
                final String stem = name.substring(0, name.length() - SUFFIX.length());
                try
                {
                    final long millis = LocalDateTime.parse(stem, formatter).toInstant(ZoneOffset.UTC).toEpochMilli();
                    cycles.put((int)(millis / rollCycle.lengthInMillis()), file);
                }
                catch (final DateTimeParseException ex)
                {
                    throw new RaftStorageException("unexpected file " + file + " in the log directory: not a cycle file", ex);
                }
            }
        }
        catch (final IOException ex)
        {
            throw new RaftStorageException("cannot list " + directory + ": " + ex, ex);
        }
        return cycles;
    }
}
