package io.ringraft.storage.chronicle;

import io.ringraft.storage.RaftStorageException;

import java.nio.file.Path;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Makes written frames durable. The storage's thread {@link #post posts} "frames up to index
 * {@code i} are written, the newest into cycle {@code c}"; a sync forces the cycle files from
 * the cycle where the previous sync stopped up to {@code c} (and Chronicle's metadata and the
 * directory if a cycle file was created), then publishes {@code i} as durable.
 * <p>
 * With a thread of its own (durability {@code BATCH}, the default) the sync runs there: a post
 * is a few volatile writes and an unpark, {@link #durableIndex()} a volatile read, so the
 * storage's thread never waits on the disk; the flusher parks when there is nothing to sync and
 * unparks the last poster when a sync completes (and runs the storage's durability signal, for a poster that
 * sleeps on something other than a park), so that a thread idling until its entries are durable hears of it at
 * once. Posts coalesce: one sync covers everything posted before it began.
 * Without a thread ({@code ALWAYS}, or {@code flusherThread(false)}) a post syncs on the
 * poster's thread before it returns.
 * <p>
 * Cycle numbers are contiguous between two {@link #hold holds}: the storage holds the flusher
 * (waiting for a sync in progress and syncing everything written) around the operations that
 * delete or renumber cycle files, truncation and purge, and tells it where to go on.
 * <p>
 * A failed sync is never retried nor forgotten: the flusher stops, and every later call from
 * the storage's thread throws a {@link RaftStorageException} carrying it, so the node fails stop.
 */
final class LogFlusher implements Runnable
{
    /** Fault injection for tests: told before every sync; may throw to fail it. */
    interface SyncHook
    {
        void beforeSync();
    }

    private final LogSync sync;
    private final Path directory;
    private final Thread thread;
    // Held by the flusher for a whole sync, and by the storage's thread while it holds the flusher.
    private final ReentrantLock lock = new ReentrantLock();

    // Posted by the storage's thread (the only writer), written in this order: cycle, files,
    // index, then seq; a sync reads seq, then index, cycle and files, so the cycle it forces up to
    // is at least the one the index was written in.
    private volatile int requestCycle;
    private volatile int requestFiles;
    private volatile long requestIndex;
    private volatile long requestSeq;
    private volatile Thread poster;
    private volatile Runnable signal;

    // Guarded by lock.
    private long syncedSeq;
    private int fromCycle;
    private int syncedFiles;

    private volatile long durableIndex;
    private volatile Throwable failure;
    private volatile boolean closing;
    private volatile long delayNanos;
    volatile SyncHook syncHook = () ->
    {
    };

    /**
     * @param sync         the syncs, used only through this flusher from now on
     * @param directory    the storage's directory, for messages
     * @param ownThread    true to sync on a thread of its own, false on the poster's thread
     * @param durableIndex the last index already durable
     * @param nextCycle    the cycle the next frames go to
     * @param files        the cycle files created so far (a count the storage keeps)
     * @param delayNanos   an extra delay before every sync (a slow disk, for tests); 0 for none
     */
    LogFlusher(final LogSync sync, final Path directory, final boolean ownThread, final long durableIndex, final int nextCycle,
        final int files, final long delayNanos)
    {
        this.sync = sync;
        this.directory = directory;
        this.durableIndex = durableIndex;
        this.fromCycle = nextCycle;
        this.syncedFiles = files;
        this.requestFiles = files;
        this.delayNanos = delayNanos;
        if (ownThread)
        {
            thread = new Thread(this, "ringraft-log-flusher " + directory.getFileName());
            thread.setDaemon(true);
            thread.start();
        }
        else
        {
            thread = null;
        }
    }

    /**
     * Storage thread: the frames up to {@code index} are written, the newest into {@code cycle}.
     * With a thread, returns at once; without, returns once they are durable.
     *
     * @param files the cycle files created so far
     */
    void post(final int cycle, final int files, final long index)
    {
        checkFailure();
        requestCycle = cycle;
        requestFiles = files;
        requestIndex = index;
        final Thread current = Thread.currentThread();
        if (poster != current)
        {
            poster = current;
        }
        final long seq = requestSeq + 1;
        requestSeq = seq;
        if (thread == null)
        {
            lock.lock();
            try
            {
                syncTo(seq);
            }
            finally
            {
                lock.unlock();
            }
        }
        else
        {
            LockSupport.unpark(thread);
        }
    }

    /**
     * Storage thread.
     *
     * @return the last index whose frame is durable
     * @throws RaftStorageException if a sync failed
     */
    long durableIndex()
    {
        checkFailure();
        return durableIndex;
    }

    /**
     * Storage thread: waits for a sync in progress, syncs everything posted, and keeps the
     * flusher off the files until {@link #release}. Must be followed by {@code release}.
     *
     * @throws RaftStorageException if a sync failed (then not holding)
     */
    void hold()
    {
        lock.lock();
        try
        {
            checkFailure();
            final long seq = requestSeq;
            if (seq != syncedSeq)
            {
                syncTo(seq);
            }
        }
        catch (final RuntimeException | Error ex)
        {
            lock.unlock();
            throw ex;
        }
    }

    /**
     * Storage thread, holding: lets the flusher go on.
     *
     * @param nextCycle    the cycle the next frames go to; every cycle before it is synced
     * @param durableIndex the last index now durable
     */
    void release(final int nextCycle, final long durableIndex)
    {
        fromCycle = nextCycle;
        this.durableIndex = durableIndex;
        lock.unlock();
    }

    /** @param nanos an extra delay before every sync from now on (a slow disk, for tests); 0 for none */
    void delayNanos(final long nanos)
    {
        delayNanos = nanos;
    }

    /** Stops the flusher after the sync in progress, if any; what was posted and not synced stays unsynced. */
    void close()
    {
        closing = true;
        if (thread != null)
        {
            LockSupport.unpark(thread);
            boolean interrupted = false;
            while (thread.isAlive())
            {
                try
                {
                    thread.join();
                }
                catch (final InterruptedException ex)
                {
                    interrupted = true;
                }
            }
            if (interrupted)
            {
                Thread.currentThread().interrupt();
            }
        }
        lock.lock();
        try
        {
            sync.close();
        }
        finally
        {
            lock.unlock();
        }
    }

    @Override
    public void run()
    {
        long seen = 0;
        while (!closing)
        {
            if (requestSeq == seen)
            {
                LockSupport.park(this);
                continue;
            }
            lock.lock();
            try
            {
                if (closing)
                {
                    break;
                }
                final long seq = requestSeq;
                if (seq != syncedSeq)
                {
                    syncTo(seq);
                }
                seen = syncedSeq;
            }
            catch (final Throwable ex)
            {
                failure = ex;
                break;
            }
            finally
            {
                lock.unlock();
            }
            unparkPoster();
        }
        unparkPoster();
    }

    /** Holding the lock: syncs what was posted up to {@code seq}. */
    private void syncTo(final long seq)
    {
        final long index = requestIndex;
        final int cycle = requestCycle;
        final int files = requestFiles;
        final long delay = delayNanos;
        if (delay > 0)
        {
            final long deadline = System.nanoTime() + delay;
            for (long left = delay; left > 0; left = deadline - System.nanoTime())
            {
                LockSupport.parkNanos(left);
            }
        }
        syncHook.beforeSync();
        sync.forceCycles(fromCycle, cycle);
        if (files != syncedFiles)
        {
            sync.forceMetadataAndDirectory();
            syncedFiles = files;
        }
        fromCycle = cycle;
        syncedSeq = seq;
        durableIndex = index;
    }

    private void unparkPoster()
    {
        final Thread waiting = poster;
        if (waiting != null)
        {
            LockSupport.unpark(waiting);
        }
        final Runnable s = signal;
        if (s != null)
        {
            s.run();
        }
    }

    /** @param signal run after each sync completes (and at the end), on the flusher thread; null for none */
    void signal(final Runnable signal)
    {
        this.signal = signal;
    }

    private void checkFailure()
    {
        final Throwable cause = failure;
        if (cause != null)
        {
            throw new RaftStorageException("log sync failed on the flusher thread of " + directory + ": " + cause, cause);
        }
    }
}
