package io.ringraft.runtime;

import io.ringraft.Membership;
import io.ringraft.Raft;
import io.ringraft.RaftConfig;
import io.ringraft.ThreadingMode;
import io.ringraft.network.InJvmNetwork;
import io.ringraft.storage.InMemoryLogStorage;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.NanoClock;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A duty cycle applies for its time slice and then lets the agents that share its thread run: after about as many
 * slow entries as fit in the slice, and, with cheap entries, about as many as fit plus at most
 * {@link StateMachineWorker#MAX_CLOCK_STRIDE}, reading the clock only every few entries.
 */
class ApplyTimeSliceTest
{
    /** A clock that moves only when the state machine applies (and counts how often it is read). */
    private static final class StepClock implements NanoClock
    {
        long now = 1_000_000_000L;
        long reads;

        @Override
        public long nanoTime()
        {
            reads++;
            return now;
        }
    }

    /** Each entry takes {@code costNanos} of the step clock; the entries of each apply batch are counted. */
    private static final class TimedStateMachine extends RecordingStateMachine
    {
        private final StepClock clock;
        long costNanos;
        int inBatch;
        final List<Integer> batches = new ArrayList<>();
        int total;

        TimedStateMachine(final StepClock clock)
        {
            this.clock = clock;
        }

        @Override
        public int apply(final long index, final long term, final DirectBuffer payload, final int offset, final int length,
            final MutableDirectBuffer response)
        {
            clock.now += costNanos;
            inBatch++;
            total++;
            return super.apply(index, term, payload, offset, length, response);
        }

        @Override
        public void onBatchEnd(final long lastAppliedIndex, final long lastAppliedTerm)
        {
            batches.add(inBatch);
            inBatch = 0;
            super.onBatchEnd(lastAppliedIndex, lastAppliedTerm);
        }
    }

    @Test
    void slowEntriesEndTheSliceAfterEachEntryCheapOnesEveryFewEntries()
    {
        final StepClock clock = new StepClock();
        final TimedStateMachine sm = new TimedStateMachine(clock);
        final RaftConfig config = new RaftConfig().nodeId(1).threadingMode(ThreadingMode.INVOKER).nanoClock(clock)
            .applyTimeSlice(250, TimeUnit.MICROSECONDS).applyRingSize(8192);
        try (Raft node = Raft.start(config, new InMemoryLogStorage(), new InJvmNetwork(64).endpoint(1), sm, Membership.of(1)))
        {
            node.triggerElection();
            for (int i = 0; i < 100_000 && !node.isLeader(); i++)
            {
                node.doWork();
            }
            assertTrue(node.isLeader());
            runUntilApplied(node, sm, sm.total);

            // Slow: 100 µs each, a slice of 250 µs ends after the 3rd (the clock is read after every slow entry).
            sm.costNanos = 100_000;
            sm.batches.clear();
            final int slowStart = sm.total;
            write(node, 40);
            runUntilApplied(node, sm, slowStart + 40);
            assertTrue(sm.batches.stream().allMatch(b -> b <= 3), "slow batches " + sm.batches);
            assertTrue(sm.batches.contains(3), "a slice holds as many slow entries as fit: " + sm.batches);

            // Cheap: 500 ns each, a slice holds 500; the clock is read every 16 entries once they are known cheap.
            sm.costNanos = 500;
            sm.batches.clear();
            final int cheapStart = sm.total;
            final int cheap = 6_000;
            final long readsBefore = clock.reads;
            for (int done = 0; done < cheap; done += 1_000)
            {
                write(node, 1_000); // committed together, applied in slices
                runUntilApplied(node, sm, cheapStart + done + 1_000);
            }
            final int max = sm.batches.stream().mapToInt(Integer::intValue).max().orElse(0);
            assertTrue(max <= 500 + StateMachineWorker.MAX_CLOCK_STRIDE, "cheap batches " + sm.batches);
            assertTrue(max >= 500, "a slice holds as many cheap entries as fit: " + sm.batches);
            final long applied = sm.total - cheapStart;
            assertEquals(cheap, applied);
            assertTrue(clock.reads - readsBefore < applied / 4, "clock reads " + (clock.reads - readsBefore) + " for the last entries");
        }
    }

    private static void write(final Raft node, final int count)
    {
        for (int i = 0; i < count; i++)
        {
            node.clientWrite(new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
        }
    }

    private static void runUntilApplied(final Raft node, final TimedStateMachine sm, final int total)
    {
        for (int i = 0; i < 1_000_000 && sm.total < total; i++)
        {
            node.doWork();
        }
        assertEquals(total, sm.total, "applied");
    }
}
