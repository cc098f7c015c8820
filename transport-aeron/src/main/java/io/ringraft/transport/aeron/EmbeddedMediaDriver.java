package io.ringraft.transport.aeron;

import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import org.agrona.IoUtil;
import org.agrona.concurrent.AgentInvoker;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

import java.io.File;

/**
 * A media driver inside this JVM, sized for small machines: one shared driver thread with a
 * backoff idle strategy (never a busy spin), or no thread at all in Aeron's INVOKER mode where
 * the owner calls {@link #invoker()}; sparse term files; and its own directory under
 * {@code /dev/shm} (or the temp directory where there is none) named after the node, the process
 * and the time, deleted on start and on {@link #close()}.
 */
public final class EmbeddedMediaDriver implements AutoCloseable
{
    private final MediaDriver driver;
    private final String directory;
    private DriverSocketWaiter socketWaiter;
    private boolean closed;

    private EmbeddedMediaDriver(final MediaDriver driver, final String directory)
    {
        this.driver = driver;
        this.directory = directory;
    }

    /**
     * Launches a driver with one shared thread.
     *
     * @param nodeId     names the directory
     * @param termLength the default term length of its publications (a power of two from 64 KiB)
     * @return the running driver
     */
    public static EmbeddedMediaDriver launch(final long nodeId, final int termLength)
    {
        return launch(nodeId, termLength, false);
    }

    /**
     * Launches a driver.
     *
     * @param nodeId     names the directory
     * @param termLength the default term length of its publications (a power of two from 64 KiB)
     * @param invoker    true for no driver thread: the owner calls {@link #invoker()}'s
     *                   {@code invoke()} regularly
     * @return the running driver
     */
    public static EmbeddedMediaDriver launch(final long nodeId, final int termLength, final boolean invoker)
    {
        return launch(nodeId, termLength, invoker, new BackoffIdleStrategy());
    }

    /**
     * Launches a driver whose shared thread idles with {@code idleStrategy}: a driver that several nodes and
     * clients on one host share (one driver per host) passes every message between them, so it should
     * idle as the nodes do (e.g. {@code io.ringraft.YieldThenParkIdleStrategy}) rather than park after a few
     * microseconds without work.
     *
     * @param nodeId       names the directory
     * @param termLength   the default term length of its publications (a power of two from 64 KiB)
     * @param invoker      true for no driver thread (then {@code idleStrategy} is not used)
     * @param idleStrategy the idle strategy of the shared driver thread
     * @return the running driver
     */
    public static EmbeddedMediaDriver launch(final long nodeId, final int termLength, final boolean invoker,
        final IdleStrategy idleStrategy)
    {
        final String dir = uniqueDirectory(nodeId);
        final MediaDriver.Context ctx = new MediaDriver.Context()
            .aeronDirectoryName(dir)
            .dirDeleteOnStart(true)
            .dirDeleteOnShutdown(true)
            .warnIfDirectoryExists(false)
            .threadingMode(invoker ? ThreadingMode.INVOKER : ThreadingMode.SHARED)
            .sharedIdleStrategy(idleStrategy)
            .publicationTermBufferLength(termLength)
            .ipcTermBufferLength(termLength)
            .termBufferSparseFile(true);
        return new EmbeddedMediaDriver(MediaDriver.launch(ctx), dir);
    }

    /** @return the driver's agent invoker in INVOKER mode, else null */
    public AgentInvoker invoker()
    {
        return driver.sharedAgentInvoker();
    }

    /**
     * A waiter on this driver's sockets, for {@link io.ringraft.YieldThenWaitIdleStrategy}: only in INVOKER mode,
     * used by the thread that invokes the driver. One per driver, closed with it.
     *
     * @return the driver's socket waiter
     * @throws IllegalArgumentException if the driver runs its own thread
     */
    public synchronized DriverSocketWaiter socketWaiter()
    {
        if (socketWaiter == null)
        {
            socketWaiter = DriverSocketWaiter.of(driver);
        }
        return socketWaiter;
    }

    /** @return the driver's directory, where clients connect */
    public String aeronDirectoryName()
    {
        return directory;
    }

    /** Stops the driver and deletes its directory. Idempotent. */
    @Override
    public void close()
    {
        if (!closed)
        {
            closed = true;
            try
            {
                org.agrona.CloseHelper.closeAll(socketWaiter, driver);
            }
            finally
            {
                IoUtil.delete(new File(directory), true);
            }
        }
    }

    private static String uniqueDirectory(final long nodeId)
    {
        final File shm = new File("/dev/shm");
        final String parent = shm.isDirectory() && shm.canWrite() ? shm.getPath() : System.getProperty("java.io.tmpdir");
        return new File(parent, "ringraft-aeron-" + nodeId + "-" + ProcessHandle.current().pid() + "-" + System.nanoTime()).getPath();
    }
}
