package io.ringraft.transport.aeron;

import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.Raft;
import io.ringraft.RaftConfig;
import io.ringraft.RaftMetrics;
import io.ringraft.ThreadingMode;
import io.ringraft.WriteHandler;
import io.ringraft.WriteStatus;
import io.ringraft.statemachine.RaftStateMachine;
import io.ringraft.storage.DurabilityPolicy;
import io.ringraft.storage.SnapshotMeta;
import io.ringraft.storage.SnapshotReader;
import io.ringraft.storage.SnapshotWriter;
import io.ringraft.storage.chronicle.ChronicleLogStorage;
import io.ringraft.storage.chronicle.ChronicleStorageContext;
import io.ringraft.storage.chronicle.FileSnapshotStore;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.collections.LongArrayList;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One Raft node in a child JVM for {@link AeronClusterProcessTest}: Aeron UDP with an embedded
 * driver (one shared thread, backoff), a Chronicle log and a file snapshot store under its data
 * directory, and a state machine that records every applied command. The parent drives it through
 * stdin and reads stdout.
 * <p>
 * Arguments: {@code nodeId clusterId endpoints dataDir init|restart snapshotEveryEntries}, endpoints as
 * {@code 1=127.0.0.1:4001,2=127.0.0.1:4002}; {@code init} starts a new cluster of every node in
 * endpoints, {@code restart} recovers everything from the data directory.
 * <p>
 * Commands (stdin): {@code load <first> <count> <window>} writes commands first..first+count-1
 * (64-byte payloads starting with the command number) with up to window in flight, one load at a
 * time; {@code dump <file>} writes the applied sequence as "index command" lines; {@code exit}.
 * End of stdin also exits, and the node halts by itself after {@value #LIFETIME_SECONDS} s so that
 * nothing outlives a broken test.
 * <p>
 * Output (stdout): {@code driver <dir>}, {@code recovered <lastLogIndex>
 * <lastPurgedIndex> <snapshotIndex>} (what the storage held on opening), {@code ready}, {@code status <role> <term> <leader> <last>
 * <committed> <applied>} every 100 ms, {@code ack <n> <index>} for a committed and applied write,
 * {@code fail <n> <status> <leader>} for any other outcome, {@code stopped <n>} when a load stops
 * issuing at n (writes from n on were never submitted), {@code loaded <first>}, {@code dumped
 * <count> <lastIndex>}, {@code snapshot-installed <index>}, {@code corrupt <index> <n>}, {@code error <text>}.
 */
public final class ClusterNodeMain
{
    /** Payload length of every command. */
    static final int PAYLOAD_LENGTH = 64;
    private static final long LIFETIME_SECONDS = 180;

    private final LinkedBlockingQueue<String> out = new LinkedBlockingQueue<>();
    private final CommandLog commands = new CommandLog(out);
    private final AtomicBoolean loading = new AtomicBoolean();
    private Raft raft;

    private ClusterNodeMain()
    {
    }

    /**
     * @param args nodeId clusterId endpoints dataDir init|restart snapshotEveryEntries
     * @throws Exception if the node cannot start
     */
    public static void main(final String[] args) throws Exception
    {
        final Thread reaper = new Thread(() ->
        {
            try
            {
                Thread.sleep(TimeUnit.SECONDS.toMillis(LIFETIME_SECONDS));
            }
            catch (final InterruptedException ignore)
            {
                return;
            }
            System.out.println("error lifetime exceeded");
            Runtime.getRuntime().halt(3);
        }, "reaper");
        reaper.setDaemon(true);
        reaper.start();
        new ClusterNodeMain().run(args);
        System.exit(0);
    }

    private void run(final String[] args) throws IOException, InterruptedException
    {
        final long self = Long.parseLong(args[0]);
        final int clusterId = Integer.parseInt(args[1]);
        final Map<Long, String> endpoints = parseEndpoints(args[2]);
        final Path dataDir = Path.of(args[3]);
        final boolean init = "init".equals(args[4]);
        final long snapshotEvery = Long.parseLong(args[5]);

        final Thread printer = new Thread(this::printLoop, "printer");
        printer.setDaemon(true);
        printer.start();

        final AeronRaftNetwork network = new AeronRaftNetwork(new AeronTransportConfig()
            .nodeId(self).clusterId(clusterId).endpoints(endpoints).termLength(128 * 1024).embeddedDriver(true));
        // Printed at once, not queued: the parent deletes this directory if the node dies.
        System.out.println("driver " + network.aeronDirectoryName());
        System.out.flush();
        try
        {
            final ChronicleLogStorage log = ChronicleLogStorage.open(new ChronicleStorageContext()
                .directory(dataDir.resolve("log")).durability(DurabilityPolicy.BATCH));
            final FileSnapshotStore snapshots = FileSnapshotStore.open(dataDir.resolve("snapshots"));
            final SnapshotMeta latest = snapshots.latest();
            out.add("recovered " + log.lastLogId().index() + " " + log.lastPurgedLogId().index() + " " +
                (latest == null ? 0 : latest.lastIncluded().index()));
            final long[] voters = endpoints.keySet().stream().mapToLong(Long::longValue).toArray();
            final RaftConfig config = new RaftConfig()
                .nodeId(self)
                .threadingMode(ThreadingMode.SHARED)
                .electionTimeout(500, 1000, TimeUnit.MILLISECONDS)
                .heartbeatInterval(50, TimeUnit.MILLISECONDS)
                .maxPayloadLength(1024)
                .snapshotEveryEntries(snapshotEvery)
                .randomSeed(System.nanoTime() ^ self);
            raft = Raft.start(config, log, snapshots, network, commands, init ? Membership.of(voters) : null);
        }
        catch (final RuntimeException | Error ex)
        {
            network.close();
            throw ex;
        }
        out.add("ready");

        final Thread status = new Thread(this::statusLoop, "status");
        status.setDaemon(true);
        status.start();

        final BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null)
        {
            final String[] words = line.trim().split(" ");
            if ("load".equals(words[0]))
            {
                startLoad(Long.parseLong(words[1]), Long.parseLong(words[2]), Integer.parseInt(words[3]));
            }
            else if ("dump".equals(words[0]))
            {
                dump(Path.of(words[1]));
            }
            else if ("exit".equals(words[0]))
            {
                break;
            }
            else
            {
                out.add("error unknown command: " + line);
            }
        }
        raft.close();
        out.add("closed");
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        while (!out.isEmpty() && System.nanoTime() < deadline)
        {
            Thread.sleep(10);
        }
    }

    private void startLoad(final long first, final long count, final int window)
    {
        if (!loading.compareAndSet(false, true))
        {
            out.add("error a load is running");
            return;
        }
        final Thread loader = new Thread(() ->
        {
            try
            {
                load(first, count, window);
            }
            catch (final RuntimeException | InterruptedException ex)
            {
                out.add("error load: " + ex);
            }
            finally
            {
                loading.set(false);
            }
        }, "load");
        loader.setDaemon(true);
        loader.start();
    }

    private void load(final long first, final long count, final int window) throws InterruptedException
    {
        final Semaphore inFlight = new Semaphore(window);
        final AtomicBoolean stop = new AtomicBoolean();
        final WriteHandler handler = (n, status, index, leaderId, response, offset, length) ->
        {
            if (status == WriteStatus.OK)
            {
                out.add("ack " + n + " " + index);
            }
            else
            {
                out.add("fail " + n + " " + WriteStatus.name(status) + " " + leaderId);
                stop.set(true);
            }
            inFlight.release();
        };
        final UnsafeBuffer payload = new UnsafeBuffer(new byte[PAYLOAD_LENGTH]);
        for (long n = first; n < first + count; n++)
        {
            if (stop.get())
            {
                out.add("stopped " + n);
                break;
            }
            inFlight.acquire();
            fillPayload(payload, n);
            int accepted;
            while ((accepted = raft.clientWrite(payload, 0, PAYLOAD_LENGTH, n, handler)) == WriteStatus.BACK_PRESSURED)
            {
                Thread.sleep(0, 100_000);
            }
            if (accepted != WriteStatus.OK)
            {
                // Refused at once: never written, and no handler call follows.
                out.add("fail " + n + " " + WriteStatus.name(accepted) + " 0");
                out.add("stopped " + (n + 1));
                inFlight.release();
                break;
            }
        }
        // Every accepted write has an outcome within the client timeout.
        if (!inFlight.tryAcquire(window, 30, TimeUnit.SECONDS))
        {
            out.add("error load " + first + ": outcomes missing after 30 s");
        }
        out.add("loaded " + first);
    }

    private void dump(final Path file) throws IOException
    {
        final long[] indices;
        final long[] values;
        synchronized (commands)
        {
            indices = commands.indices.toLongArray();
            values = commands.values.toLongArray();
        }
        try (BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8))
        {
            for (int i = 0; i < indices.length; i++)
            {
                w.write(indices[i] + " " + values[i]);
                w.newLine();
            }
        }
        out.add("dumped " + indices.length + " " + (indices.length == 0 ? 0 : indices[indices.length - 1]));
    }

    private void statusLoop()
    {
        while (true)
        {
            final RaftMetrics m = raft.metrics();
            out.add("status " + m.role() + " " + m.term() + " " + m.leaderId() + " " + m.lastLogIndex() + " " +
                m.committedIndex() + " " + m.appliedIndex());
            try
            {
                Thread.sleep(100);
            }
            catch (final InterruptedException ex)
            {
                return;
            }
        }
    }

    private void printLoop()
    {
        final PrintStream stdout = System.out;
        final List<String> lines = new ArrayList<>();
        while (true)
        {
            try
            {
                lines.add(out.take());
            }
            catch (final InterruptedException ex)
            {
                return;
            }
            out.drainTo(lines);
            for (final String l : lines)
            {
                stdout.println(l);
            }
            stdout.flush();
            lines.clear();
        }
    }

    /** Writes command {@code n}: the number, then a pattern derived from it that the state machine checks. */
    static void fillPayload(final MutableDirectBuffer payload, final long n)
    {
        payload.putLong(0, n);
        for (int i = 8; i < PAYLOAD_LENGTH; i++)
        {
            payload.putByte(i, (byte)(n + i));
        }
    }

    private static boolean payloadIntact(final DirectBuffer payload, final int offset, final int length, final long n)
    {
        if (length != PAYLOAD_LENGTH)
        {
            return false;
        }
        for (int i = 8; i < PAYLOAD_LENGTH; i++)
        {
            if (payload.getByte(offset + i) != (byte)(n + i))
            {
                return false;
            }
        }
        return true;
    }

    private static Map<Long, String> parseEndpoints(final String arg)
    {
        final Map<Long, String> endpoints = new TreeMap<>();
        for (final String pair : arg.split(","))
        {
            final String[] kv = pair.split("=", 2);
            endpoints.put(Long.parseLong(kv[0]), kv[1]);
        }
        return endpoints;
    }

    /** Records (index, command) of every applied write, in memory; snapshots hold the whole record. */
    private static final class CommandLog implements RaftStateMachine
    {
        private final LongArrayList indices = new LongArrayList();
        private final LongArrayList values = new LongArrayList();
        private final LinkedBlockingQueue<String> out;

        CommandLog(final LinkedBlockingQueue<String> out)
        {
            this.out = out;
        }

        @Override
        public LogId lastApplied()
        {
            return LogId.ZERO;
        }

        @Override
        public int apply(final long index, final long term, final DirectBuffer payload, final int offset, final int length,
            final MutableDirectBuffer response)
        {
            final long n = length >= 8 ? payload.getLong(offset) : -1;
            if (!payloadIntact(payload, offset, length, n))
            {
                out.add("corrupt " + index + " " + n);
            }
            synchronized (this)
            {
                indices.addLong(index);
                values.addLong(n);
            }
            response.putLong(0, index);
            return 8;
        }

        @Override
        public void buildSnapshot(final SnapshotWriter writer)
        {
            final UnsafeBuffer buffer = new UnsafeBuffer(new byte[16]);
            synchronized (this)
            {
                for (int i = 0; i < indices.size(); i++)
                {
                    buffer.putLong(0, indices.getLong(i));
                    buffer.putLong(8, values.getLong(i));
                    writer.write(buffer, 0, 16);
                }
            }
        }

        @Override
        public void installSnapshot(final SnapshotMeta meta, final SnapshotReader reader)
        {
            final UnsafeBuffer buffer = new UnsafeBuffer(new byte[16]);
            synchronized (this)
            {
                indices.clear();
                values.clear();
                for (long pos = 0; pos < reader.size(); pos += 16)
                {
                    int read = 0;
                    while (read < 16)
                    {
                        final int r = reader.read(pos + read, buffer, read, 16 - read);
                        if (r <= 0)
                        {
                            throw new IllegalStateException("snapshot " + meta + " ends inside a record at " + (pos + read));
                        }
                        read += r;
                    }
                    indices.addLong(buffer.getLong(0));
                    values.addLong(buffer.getLong(8));
                }
            }
            out.add("snapshot-installed " + meta.lastIncluded().index());
        }
    }
}
