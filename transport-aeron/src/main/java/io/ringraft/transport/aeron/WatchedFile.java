package io.ringraft.transport.aeron;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.function.BiPredicate;
import java.util.function.Function;

/**
 * What a file holds (keys, credentials), read from it once and read again when it changes
 * ({@link #reloadIfChanged}) or on demand ({@link #reload}): a changed file that does not load is
 * refused and the value in use stays. Thread-safe: the value is published through a volatile
 * field, so the threads that use it pick a new one up at their next read of {@link #current()}.
 *
 * @param <T> what the file holds, immutable
 */
public final class WatchedFile<T>
{
    private final Path file;
    private final String what;
    private final Function<Path, T> loader;
    private final BiPredicate<T, T> same;
    private volatile T current;
    private long lastModifiedMillis;
    private long lastCheckMillis;

    private WatchedFile(final Path file, final String what, final Function<Path, T> loader, final BiPredicate<T, T> same,
        final T current, final long lastModifiedMillis)
    {
        this.file = file;
        this.what = what;
        this.loader = loader;
        this.same = same;
        this.current = current;
        this.lastModifiedMillis = lastModifiedMillis;
    }

    /**
     * Reads a file.
     *
     * @param file   the file
     * @param what   what it is, for messages ("key file")
     * @param loader reads it; throws {@link IllegalArgumentException} naming the file if it is invalid
     * @param same   true if two values are the same (a reload to the same value is not a change)
     * @param <T>    what it holds
     * @return the watched file, holding what it holds now
     * @throws IllegalArgumentException if the file cannot be read or does not load
     */
    public static <T> WatchedFile<T> load(final Path file, final String what, final Function<Path, T> loader,
        final BiPredicate<T, T> same)
    {
        final long modified = modified(file, what);
        return new WatchedFile<>(file, what, loader, same, loader.apply(file), modified);
    }

    /**
     * @param value a value that never changes
     * @param <T>   its type
     * @return a watched file of no file, always holding {@code value}
     */
    public static <T> WatchedFile<T> fixed(final T value)
    {
        return new WatchedFile<>(null, "value", null, (a, b) -> a == b, Objects.requireNonNull(value, "value"), 0);
    }

    /** @return what the file holds now */
    public T current()
    {
        return current;
    }

    /** @return the file, or null for a fixed value */
    public Path file()
    {
        return file;
    }

    /**
     * Reads the file again and uses what it holds.
     *
     * @return true if the value changed
     * @throws IllegalArgumentException if the file cannot be read or does not load (the value in use stays)
     */
    public synchronized boolean reload()
    {
        if (file == null)
        {
            return false;
        }
        final long modified = modified(file, what);
        final T loaded = loader.apply(file);
        lastModifiedMillis = modified;
        if (same.test(loaded, current))
        {
            return false;
        }
        current = loaded;
        return true;
    }

    /**
     * Reloads the file if its modification time changed, looking at most once per {@code intervalMillis}.
     *
     * @param nowMillis      the current time
     * @param intervalMillis how often to look
     * @return true if the value changed
     * @throws IllegalArgumentException if the changed file does not load (the value in use stays)
     */
    public synchronized boolean reloadIfChanged(final long nowMillis, final long intervalMillis)
    {
        if (file == null || nowMillis - lastCheckMillis < intervalMillis)
        {
            return false;
        }
        lastCheckMillis = nowMillis;
        return modified(file, what) != lastModifiedMillis && reload();
    }

    private static long modified(final Path file, final String what)
    {
        try
        {
            return Files.getLastModifiedTime(file).toMillis();
        }
        catch (final IOException ex)
        {
            throw new IllegalArgumentException(what + " " + file + " cannot be read: " + ex, ex);
        }
    }

    @Override
    public String toString()
    {
        return "WatchedFile{" + (file == null ? "fixed" : file) + ": " + current + "}";
    }
}
