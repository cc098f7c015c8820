package io.ringraft.bench.aeron;

import io.aeron.Aeron;
import io.aeron.ChannelUriStringBuilder;
import io.aeron.ExclusivePublication;
import io.aeron.Subscription;
import io.aeron.logbuffer.FragmentHandler;
import io.ringraft.transport.aeron.EmbeddedMediaDriver;
import org.HdrHistogram.Histogram;
import org.agrona.CloseHelper;
import org.agrona.DirectBuffer;
import org.agrona.IoUtil;
import org.agrona.concurrent.AgentInvoker;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.BusySpinIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.File;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The floor under Raft over Aeron: the round trip of a small message between two processes on
 * this machine over Aeron UDP on 127.0.0.1, each process with its own embedded media driver.
 * The ping process starts the pong process, sends one message, waits for its echo, and records
 * the round trip in an HdrHistogram; one message in flight at a time.
 * <p>
 * Modes: {@code invoker} (the driver in Aeron's INVOKER mode and the client conductor invoked too:
 * one thread per process, busy-spinning; two spinning threads on two cores) and {@code shared}
 * (the driver's one SHARED thread and the client conductor thread with Aeron's default backoff,
 * the application thread with {@link BackoffIdleStrategy}: three threads per process).
 * <p>
 * {@code java -cp benchmarks.jar io.ringraft.bench.aeron.AeronPingPong <invoker|shared> [messages] [warmup] [length]}
 */
public final class AeronPingPong
{
    private static final int STREAM_ID = 1001;
    private static final int TERM_LENGTH = 64 * 1024;

    private AeronPingPong()
    {
    }

    /**
     * @param args {@code invoker|shared [messages=100000] [warmup=20000] [length=32]}, or the pong
     *             side's {@code pong <mode> <pingEndpoint> <pongEndpoint>}
     * @throws Exception on failure
     */
    public static void main(final String[] args) throws Exception
    {
        if ("pong".equals(args[0]))
        {
            pong(args[1], args[2], args[3]);
            return;
        }
        final String mode = args[0];
        final int messages = args.length > 1 ? Integer.parseInt(args[1]) : 100_000;
        final int warmup = args.length > 2 ? Integer.parseInt(args[2]) : 20_000;
        final int length = args.length > 3 ? Integer.parseInt(args[3]) : 32;
        final String pingEndpoint = "127.0.0.1:" + BenchPorts.freePort();
        final String pongEndpoint = "127.0.0.1:" + BenchPorts.freePort();

        final Process pong = BenchPorts.startJvm(AeronPingPong.class, List.of("pong", mode, pingEndpoint, pongEndpoint));
        String pongDriver = null;
        try (AeronEndpoint endpoint = new AeronEndpoint(1, mode, pongEndpoint, pingEndpoint))
        {
            pongDriver = BenchPorts.awaitLine(pong, "ready ").substring("ready ".length());
            final Histogram histogram = endpoint.ping(messages, warmup, length);
            System.out.println(Report.header("aeron-udp-rtt mode=" + mode + " length=" + length + "B term=" + TERM_LENGTH +
                " warmup=" + warmup + " messages=" + messages));
            System.out.println(Report.row("round trip", histogram));
        }
        finally
        {
            // The stop message makes the pong side close its driver (and delete its directory) and exit.
            if (!pong.waitFor(10, TimeUnit.SECONDS))
            {
                pong.destroyForcibly();
                pong.waitFor(10, TimeUnit.SECONDS);
                if (pongDriver != null)
                {
                    IoUtil.delete(new File(pongDriver), true);
                }
            }
        }
    }

    private static void pong(final String mode, final String pingEndpoint, final String pongEndpoint) throws IOException
    {
        final Thread watchdog = BenchPorts.exitOnStdinEof();
        try (AeronEndpoint endpoint = new AeronEndpoint(2, mode, pingEndpoint, pongEndpoint))
        {
            System.out.println("ready " + endpoint.driver.aeronDirectoryName());
            System.out.flush();
            endpoint.pong();
        }
        watchdog.interrupt();
    }

    /** One side: an embedded driver, a client, a subscription on its own endpoint and a publication to the other's. */
    private static final class AeronEndpoint implements AutoCloseable
    {
        private final EmbeddedMediaDriver driver;
        private final Aeron aeron;
        private final AgentInvoker driverInvoker;
        private final AgentInvoker conductorInvoker;
        private final Subscription subscription;
        private final ExclusivePublication publication;
        private final IdleStrategy idle;
        private final UnsafeBuffer buffer = new UnsafeBuffer(new byte[1024]);
        private long echoed = -1;
        private volatile boolean running = true;

        AeronEndpoint(final long id, final String mode, final String sendTo, final String listenOn)
        {
            final boolean invoker = "invoker".equals(mode);
            if (!invoker && !"shared".equals(mode))
            {
                throw new IllegalArgumentException("mode=" + mode + " must be invoker or shared");
            }
            driver = EmbeddedMediaDriver.launch(id, TERM_LENGTH, invoker);
            final Aeron.Context ctx = new Aeron.Context().aeronDirectoryName(driver.aeronDirectoryName()).useConductorAgentInvoker(invoker);
            if (invoker)
            {
                ctx.driverAgentInvoker(driver.invoker());
            }
            aeron = Aeron.connect(ctx);
            driverInvoker = invoker ? driver.invoker() : null;
            conductorInvoker = invoker ? aeron.conductorAgentInvoker() : null;
            subscription = aeron.addSubscription(new ChannelUriStringBuilder().media("udp").endpoint(listenOn).build(), STREAM_ID);
            publication = aeron.addExclusivePublication(
                new ChannelUriStringBuilder().media("udp").endpoint(sendTo).termLength(TERM_LENGTH).sparse(true).build(), STREAM_ID);
            idle = invoker ? new BusySpinIdleStrategy() : new BackoffIdleStrategy();
        }

        private int duty()
        {
            int work = 0;
            if (conductorInvoker != null)
            {
                work += conductorInvoker.invoke();
                work += driverInvoker.invoke();
            }
            return work;
        }

        private void send(final DirectBuffer message, final int offset, final int length)
        {
            while (publication.offer(message, offset, length) < 0)
            {
                idle.idle(duty());
            }
        }

        Histogram ping(final int messages, final int warmup, final int length)
        {
            while (!publication.isConnected() || !subscription.isConnected())
            {
                idle.idle(duty());
            }
            final Histogram histogram = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
            final FragmentHandler onEcho = (b, o, l, h) -> echoed = b.getLong(o);
            for (int i = 0; i < warmup + messages; i++)
            {
                final long sent = System.nanoTime();
                buffer.putLong(0, sent);
                send(buffer, 0, length);
                while (echoed != sent)
                {
                    idle.idle(duty() + subscription.poll(onEcho, 1));
                }
                if (i >= warmup)
                {
                    histogram.recordValue(System.nanoTime() - sent);
                }
            }
            buffer.putLong(0, -1L);
            send(buffer, 0, length);
            return histogram;
        }

        void pong()
        {
            final int[] pending = {0};
            final FragmentHandler onPing = (b, o, l, h) ->
            {
                if (b.getLong(o) == -1L)
                {
                    running = false;
                }
                else
                {
                    // Echoed outside the callback, so the invokers never run inside a poll.
                    b.getBytes(o, buffer, 0, l);
                    pending[0] = l;
                }
            };
            while (running)
            {
                final int work = duty() + subscription.poll(onPing, 1);
                if (pending[0] > 0)
                {
                    send(buffer, 0, pending[0]);
                    pending[0] = 0;
                }
                idle.idle(work);
            }
        }

        @Override
        public void close()
        {
            CloseHelper.closeAll(publication, subscription, aeron, driver);
        }
    }
}
