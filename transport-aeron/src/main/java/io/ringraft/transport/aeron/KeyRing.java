package io.ringraft.transport.aeron;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The current {@link ClusterKeys} of a node, shared by the threads that sign and verify frames:
 * read from a key file, and read again when the file changes ({@link #reloadIfChanged}) or on
 * demand ({@link #reload}). A new file that is invalid is refused and the keys in use stay.
 * Thread-safe: the keys are published through a volatile field; {@link FrameAuthenticator}s
 * pick the new ones up at their next frame.
 */
public final class KeyRing
{
    private final Path file;
    private volatile ClusterKeys keys;
    private long lastModifiedMillis;
    private long lastCheckMillis;

    /**
     * @param keys the keys, for a ring that never reloads
     */
    public KeyRing(final ClusterKeys keys)
    {
        this.file = null;
        this.keys = keys;
    }

    private KeyRing(final Path file, final ClusterKeys keys, final long lastModifiedMillis)
    {
        this.file = file;
        this.keys = keys;
        this.lastModifiedMillis = lastModifiedMillis;
    }

    /**
     * @param file a key file (see {@link ClusterKeys})
     * @return a ring holding its keys
     * @throws IllegalArgumentException if the file cannot be read or is invalid
     */
    public static KeyRing load(final Path file)
    {
        final long modified = modified(file);
        return new KeyRing(file, ClusterKeys.load(file), modified);
    }

    /** @return the keys in use */
    public ClusterKeys keys()
    {
        return keys;
    }

    /** @return the key file, or null */
    public Path file()
    {
        return file;
    }

    /**
     * Reads the key file again and uses its keys.
     *
     * @return true if the keys changed
     * @throws IllegalArgumentException if the file cannot be read or is invalid (the keys in use stay)
     */
    public synchronized boolean reload()
    {
        if (file == null)
        {
            return false;
        }
        final long modified = modified(file);
        final ClusterKeys loaded = ClusterKeys.load(file);
        lastModifiedMillis = modified;
        if (loaded.sameAs(keys))
        {
            return false;
        }
        keys = loaded;
        return true;
    }

    /**
     * Reloads the file if its modification time changed, looking at most once per {@code intervalMillis}.
     *
     * @param nowMillis      the current time
     * @param intervalMillis how often to look
     * @return true if the keys changed
     * @throws IllegalArgumentException if the changed file is invalid (the keys in use stay)
     */
    public synchronized boolean reloadIfChanged(final long nowMillis, final long intervalMillis)
    {
        if (file == null || nowMillis - lastCheckMillis < intervalMillis)
        {
            return false;
        }
        lastCheckMillis = nowMillis;
        final long modified;
        try
        {
            modified = Files.getLastModifiedTime(file).toMillis();
        }
        catch (final IOException ex)
        {
            throw new IllegalArgumentException("key file " + file + " cannot be read: " + ex, ex);
        }
        return modified != lastModifiedMillis && reload();
    }

    private static long modified(final Path file)
    {
        try
        {
            return Files.getLastModifiedTime(file).toMillis();
        }
        catch (final IOException ex)
        {
            throw new IllegalArgumentException("key file " + file + " cannot be read: " + ex, ex);
        }
    }

    @Override
    public String toString()
    {
        return "KeyRing{" + keys + "}";
    }
}
