package io.ringraft.storage.chronicle;

import io.ringraft.Membership;
import io.ringraft.Raft;
import io.ringraft.RaftConfig;
import io.ringraft.WriteResult;
import io.ringraft.WriteStatus;
import io.ringraft.network.InJvmNetwork;
import io.ringraft.statemachine.KvStateMachine;
import io.ringraft.storage.DurabilityPolicy;
import io.ringraft.storage.RaftStorageException;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A disk that fills up under a node on a Chronicle log: the node fails stop with a clear error
 * before a write can fault, nothing durable is damaged, and once space is freed a restart
 * recovers every acknowledged write.
 * <p>
 * The disk is a 16 MiB tmpfs the test mounts (as root) and unmounts at the end, whatever
 * happens. Where mounting is not permitted, the same file system check is driven by a reserve
 * ({@code minFreeBytes}) set 12 MiB below the free space of the temporary directory's file
 * system, which is a disk with 12 MiB left, and freeing space is lowering the reserve.
 */
class DiskFullTest
{
    private static final long DISK_BYTES = 16L << 20;
    private static final long RESERVE_BYTES = 4L << 20;
    private static final int VALUE_BYTES = 1024;

    private final List<Raft> started = new ArrayList<>();
    private final List<Throwable> reported = new CopyOnWriteArrayList<>();
    private Path disk;
    private boolean mounted;

    @AfterEach
    void cleanUp() throws Exception
    {
        try
        {
            for (final Raft raft : started)
            {
                try
                {
                    raft.close();
                }
                catch (final Throwable ignore)
                {
                    // a node that failed on a full disk may fail to close its log too; the files are closed all the same
                }
            }
        }
        finally
        {
            if (mounted && run("umount", disk.toString()) != 0)
            {
                run("umount", "-l", disk.toString());
            }
            if (disk != null)
            {
                try (Stream<Path> files = Files.walk(disk))
                {
                    files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
                }
            }
        }
    }

    private static int run(final String... command) throws IOException, InterruptedException
    {
        final Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        process.getInputStream().readAllBytes();
        return process.waitFor();
    }

    /** @return the minFreeBytes that makes the disk full after about 12 MiB of log */
    private long smallDisk() throws Exception
    {
        disk = Files.createTempDirectory("ringraft-disk-full");
        mounted = run("mount", "-t", "tmpfs", "-o", "size=" + DISK_BYTES, "ringraft-disk-full", disk.toString()) == 0;
        if (mounted)
        {
            assertEquals(DISK_BYTES, Files.getFileStore(disk).getTotalSpace(), "the tmpfs mounted");
            return RESERVE_BYTES;
        }
        return Files.getFileStore(disk).getUsableSpace() - (DISK_BYTES - RESERVE_BYTES);
    }

    private Raft startNode(final long minFreeBytes, final KvStateMachine machine)
    {
        final ChronicleLogStorage log = ChronicleLogStorage.open(new ChronicleStorageContext().directory(disk.resolve("node-1"))
            .durability(DurabilityPolicy.BATCH).blockSize(1 << 20).minFreeBytes(minFreeBytes));
        final RaftConfig config = new RaftConfig().nodeId(1).electionTimeout(100, 200, TimeUnit.MILLISECONDS)
            .heartbeatInterval(20, TimeUnit.MILLISECONDS).snapshotEveryEntries(0).errorHandler(reported::add);
        final Raft raft = Raft.start(config, log, FileSnapshotStore.open(disk.resolve("node-1-snapshots")), new InJvmNetwork(64).endpoint(1),
            machine, Membership.of(1));
        started.add(raft);
        return raft;
    }

    private static byte[] put(final long n)
    {
        final byte[] key = ("k" + n).getBytes(StandardCharsets.UTF_8);
        final byte[] value = new byte[VALUE_BYTES];
        final byte[] tag = ("v" + n).getBytes(StandardCharsets.UTF_8);
        System.arraycopy(tag, 0, value, 0, tag.length);
        final byte[] command = new byte[KvStateMachine.commandLength(key, value, null)];
        KvStateMachine.encodeCommand(new UnsafeBuffer(command), 0, KvStateMachine.PUT, 1, n, key, value, null);
        return command;
    }

    private static void awaitLeader(final Raft raft) throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!raft.isLeader())
        {
            assertTrue(System.nanoTime() < deadline, "no leader within 20 s");
            Thread.sleep(2);
        }
    }

    @Test
    void aNodeWhoseDiskFillsUpFailsStopWithAClearErrorAndARestartAfterSpaceIsFreedRecoversEveryAcknowledgedWrite() throws Exception
    {
        final long reserve = smallDisk();
        final Raft node = startNode(reserve, new KvStateMachine(false));
        awaitLeader(node);

        // Write until the disk is full, 16 writes in flight.
        final Set<Long> acknowledged = ConcurrentHashMap.newKeySet();
        final Semaphore window = new Semaphore(16);
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        long n = 0;
        while (node.failure() == null)
        {
            assertTrue(System.nanoTime() < deadline, "the disk did not fill within 120 s: " + acknowledged.size() + " writes");
            if (!window.tryAcquire(10, TimeUnit.MILLISECONDS))
            {
                continue;
            }
            final long value = n++;
            node.clientWrite(put(value)).whenComplete((WriteResult r, Throwable ex) ->
            {
                window.release();
                if (r != null && r.isOk())
                {
                    acknowledged.add(value);
                }
            });
        }
        window.acquire(16); // every write answered

        final Throwable failure = node.failure();
        assertInstanceOf(RaftStorageException.class, failure);
        assertTrue(failure.getMessage().startsWith("disk full: ") && failure.getMessage().contains("minFreeBytes=" + reserve),
            failure.getMessage());
        assertTrue(reported.contains(failure), "reported to the error handler: " + reported);
        assertEquals(WriteStatus.FATAL, node.clientWrite(put(-1)).get(10, TimeUnit.SECONDS).status());
        assertTrue(acknowledged.size() > 1000, "only " + acknowledged.size() + " writes before the disk was full");
        System.out.println("disk full (" + (mounted ? "16 MiB tmpfs" : "a reserve 12 MiB below the free space") + ") after " +
            acknowledged.size() + " acknowledged writes of " + n + ": " + failure.getMessage());
        node.close();

        // Space is freed; the node restarts on its log, which opens clean, and holds every acknowledged write.
        final long freedReserve;
        if (mounted)
        {
            assertEquals(0, run("mount", "-o", "remount,size=" + (8 * DISK_BYTES), disk.toString()), "remount with more space");
            freedReserve = RESERVE_BYTES;
        }
        else
        {
            freedReserve = 0;
        }
        try (ChronicleLogStorage reopened = ChronicleLogStorage.open(new ChronicleStorageContext().directory(disk.resolve("node-1"))
            .durability(DurabilityPolicy.BATCH).blockSize(1 << 20).minFreeBytes(freedReserve)))
        {
            assertFalse(reopened.cutTornTailOnOpen(), "nothing to cut: the node stopped before a write could fail");
            assertTrue(reopened.lastLogIndex() >= acknowledged.size(), reopened.toString());
        }
        final KvStateMachine machine = new KvStateMachine(false);
        final Raft restarted = startNode(freedReserve, machine);
        awaitLeader(restarted);
        final WriteResult after = restarted.clientWrite(put(1_000_000)).get(20, TimeUnit.SECONDS);
        assertEquals(WriteStatus.OK, after.status(), "writes go on after the restart: " + after);
        while (restarted.appliedIndex() < after.index())
        {
            Thread.sleep(1);
        }
        final List<Long> missing = new ArrayList<>();
        for (final long value : acknowledged)
        {
            final byte[] got = machine.value("k" + value);
            if (got == null || !new String(got, 0, ("v" + value).length(), StandardCharsets.UTF_8).equals("v" + value))
            {
                missing.add(value);
            }
        }
        assertEquals(List.of(), missing, "acknowledged writes lost");
    }
}
