package io.ringraft.bench.storage;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Comparator;
import java.util.stream.Stream;

/** Scratch directories for the storage benchmarks: under {@code -Dringraft.bench.dir}, default {@code java.io.tmpdir} (/tmp, ext4 here). */
final class BenchDirs
{
    private BenchDirs()
    {
    }

    static Path create(final String prefix)
    {
        try
        {
            final Path parent = Paths.get(System.getProperty("ringraft.bench.dir", System.getProperty("java.io.tmpdir")));
            return Files.createTempDirectory(parent, prefix);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }

    static void delete(final Path dir)
    {
        if (dir == null || !Files.exists(dir))
        {
            return;
        }
        try (Stream<Path> files = Files.walk(dir))
        {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }
}
