package io.ringraft.runtime;

import io.ringraft.Membership;
import io.ringraft.Raft;
import io.ringraft.RaftConfig;
import io.ringraft.ThreadingMode;
import io.ringraft.WriteHandler;
import io.ringraft.WriteStatus;
import io.ringraft.engine.Role;
import io.ringraft.network.InJvmNetwork;
import io.ringraft.storage.InMemoryLogStorage;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Overload: a client writes as fast as it can to a leader whose followers are cut off, so nothing
 * commits. The leader refuses with {@code BACK_PRESSURED} once it holds its uncommitted limit, the
 * rings hold their payload budget, and the heap stays under the ceiling the settings state. Runs
 * for 3 s by default; {@code -Dringraft.soak=true} runs it for 60 s.
 */
class OverloadTest
{
    private static final long SECONDS = Boolean.getBoolean("ringraft.soak") ? 60 : 3;

    private final InJvmNetwork network = new InJvmNetwork(4096);
    private final List<Raft> nodes = new ArrayList<>();

    @AfterEach
    void closeAll()
    {
        nodes.forEach(Raft::close);
    }

    private static RaftConfig config(final long id)
    {
        // No check-quorum: the leader must keep leading while its followers are cut off.
        return new RaftConfig().nodeId(id).threadingMode(ThreadingMode.SHARED).checkQuorum(false)
            .electionTimeout(500, 1000, TimeUnit.MILLISECONDS).heartbeatInterval(50, TimeUnit.MILLISECONDS).randomSeed(id * 13)
            .maxPayloadLength(128 * 1024).maxUncommittedEntries(20_000).maxUncommittedBytes(16L * 1024 * 1024)
            .ringSlotBytes(512).maxRingPayloadBytes(8L * 1024 * 1024);
    }

    private static long heapAfterGc(final MemoryMXBean memory) throws InterruptedException
    {
        long min = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++)
        {
            System.gc();
            Thread.sleep(50);
            min = Math.min(min, memory.getHeapMemoryUsage().getUsed());
        }
        return min;
    }

    /** @return a leader that every node follows, in the same term, twice 200 ms apart */
    private Raft stableLeader() throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline)
        {
            for (final Raft n : nodes)
            {
                if (n.role() == Role.LEADER && followedByAll(n))
                {
                    Thread.sleep(200);
                    if (n.role() == Role.LEADER && followedByAll(n))
                    {
                        return n;
                    }
                }
            }
            Thread.sleep(5);
        }
        throw new AssertionError("no stable leader within 30 s");
    }

    private boolean followedByAll(final Raft leader)
    {
        return nodes.stream().allMatch(n -> n.leaderId() == leader.nodeId() && n.term() == leader.term());
    }

    @Test
    void aLeaderWhoseFollowersAreCutOffRefusesWithBackPressureAndItsHeapStaysUnderTheCeiling() throws Exception
    {
        for (long id = 1; id <= 3; id++)
        {
            nodes.add(Raft.start(config(id), new InMemoryLogStorage(), network.endpoint(id), new RecordingStateMachine(),
                Membership.of(1, 2, 3)));
        }
        final Raft leader = stableLeader();
        final MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        final long baseline = heapAfterGc(memory);
        for (final Raft n : nodes)
        {
            if (n != leader)
            {
                network.isolate(n.nodeId());
            }
        }

        // Small and large (above the ring slot size) payloads, as fast as the leader takes them.
        final AtomicLongArray outcomes = new AtomicLongArray(16);
        final WriteHandler handler = (correlationId, status, index, leaderId, response, offset, length) -> outcomes.incrementAndGet(status);
        final UnsafeBuffer small = new UnsafeBuffer(new byte[200]);
        final UnsafeBuffer large = new UnsafeBuffer(new byte[64 * 1024]);
        final RaftConfig settings = config(leader.nodeId());
        long refusedAtOnce = 0;
        long accepted = 0;
        long maxUncommitted = 0;
        // At least SECONDS, and until the leader's limits refused writes (a slow machine needs longer to fill them).
        final long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(SECONDS);
        final long hardEnd = end + TimeUnit.SECONDS.toNanos(30);
        for (long i = 0; System.nanoTime() < end || (outcomes.get(WriteStatus.BACK_PRESSURED) == 0 && System.nanoTime() < hardEnd); i++)
        {
            final UnsafeBuffer payload = (i & 15) == 0 ? large : small;
            final int status = leader.clientWrite(payload, 0, payload.capacity(), i, handler);
            if (status == WriteStatus.BACK_PRESSURED)
            {
                refusedAtOnce++;
                Thread.onSpinWait();
            }
            else
            {
                assertEquals(WriteStatus.OK, status, "refused otherwise: " + WriteStatus.name(status));
                accepted++;
            }
            if ((i & 1023) == 0)
            {
                maxUncommitted = Math.max(maxUncommitted, leader.lastLogIndex() - leader.commitIndex());
            }
        }
        assertEquals(Role.LEADER, leader.role(), "still leading");
        final long heap = heapAfterGc(memory);
        final long uncommitted = leader.lastLogIndex() - leader.commitIndex();
        maxUncommitted = Math.max(maxUncommitted, uncommitted);
        final long backPressuredLater = outcomes.get(WriteStatus.BACK_PRESSURED);
        // The in-memory log holds the uncommitted entries: at most maxUncommittedBytes of payload
        // plus its per-entry overhead; the runtime holds at most its stated ceiling.
        final long ceiling = settings.runtimeHeapCeilingBytes(2) + settings.maxUncommittedBytes() + 64L * settings.maxUncommittedEntries();
        System.out.printf("overload %d s: accepted %d, refused at once %d, refused by the leader's limits %d, uncommitted %d (max %d), " +
            "heap growth %d KiB, ceiling %d KiB%n", SECONDS, accepted, refusedAtOnce, backPressuredLater, uncommitted, maxUncommitted,
            (heap - baseline) / 1024, ceiling / 1024);
        assertTrue(maxUncommitted <= settings.maxUncommittedEntries(), "uncommitted entries " + maxUncommitted);
        assertTrue(backPressuredLater > 0, "the leader's uncommitted limit refused writes");
        assertTrue(heap - baseline < ceiling, "heap grew " + (heap - baseline) + " bytes, ceiling " + ceiling);

        // Reconnected, the cluster takes writes again (under whichever leader: one elected meanwhile
        // may have replaced the uncommitted entries).
        network.heal();
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        boolean written = false;
        while (!written && System.nanoTime() < deadline)
        {
            written = stableLeader().clientWrite(new byte[8]).get(30, TimeUnit.SECONDS).isOk();
        }
        assertTrue(written, "a write committed after the heal");
    }
}
