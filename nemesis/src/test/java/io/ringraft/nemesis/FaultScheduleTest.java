package io.ringraft.nemesis;

import org.junit.jupiter.api.Test;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FaultScheduleTest
{
    private static final Set<FaultSchedule.Kind> ALL = EnumSet.allOf(FaultSchedule.Kind.class);

    @Test
    void oneSeedGivesOneScheduleAndAnotherSeedAnother()
    {
        final List<FaultSchedule.Fault> a = FaultSchedule.generate(42, 120_000, 6_000, 5, ALL);
        assertEquals(a, FaultSchedule.generate(42, 120_000, 6_000, 5, ALL));
        assertNotEquals(a, FaultSchedule.generate(43, 120_000, 6_000, 5, ALL));
        assertTrue(a.size() >= 10, a.toString());
        long previousEnd = 0;
        for (final FaultSchedule.Fault f : a)
        {
            assertTrue(f.atMs() >= previousEnd + 2_000 || previousEnd == 0, "quiet stretch before " + f);
            assertTrue(f.kind() == FaultSchedule.Kind.ELECTION ? f.durationMs() == FaultSchedule.ELECTION_WINDOW_MS :
                f.durationMs() >= 2_000 && f.durationMs() <= 5_000, f.toString());
            previousEnd = f.atMs() + f.durationMs();
        }
        assertTrue(previousEnd <= 114_000, "the last fault heals before the quiet end");
        final Set<FaultSchedule.Kind> drawn = EnumSet.noneOf(FaultSchedule.Kind.class);
        FaultSchedule.generate(42, 600_000, 6_000, 5, ALL).forEach(f -> drawn.add(f.kind()));
        assertEquals(ALL, drawn, "every kind is drawn in a long run");
    }

    @Test
    void aSlowDiskHitsTheLeaderOrANodeWithADrawnDelay()
    {
        final List<FaultSchedule.Fault> slow = FaultSchedule.generate(9, 300_000, 6_000, 5, EnumSet.of(FaultSchedule.Kind.SLOW_DISK));
        assertEquals(slow, FaultSchedule.generate(9, 300_000, 6_000, 5, EnumSet.of(FaultSchedule.Kind.SLOW_DISK)), "one seed, one schedule");
        final Set<String> targets = new java.util.HashSet<>();
        final Set<Long> delays = new java.util.HashSet<>();
        for (final FaultSchedule.Fault f : slow)
        {
            assertTrue(f.shape().matches("(leader|node) \\d+ms"), f.toString());
            targets.add(f.shape().split(" ")[0]);
            delays.add(FaultSchedule.slowDiskMs(f));
        }
        assertEquals(Set.of("leader", "node"), targets);
        assertEquals(Set.of(100L, 250L, 500L), delays);
        final List<Long> nodes = List.of(1L, 2L, 3L);
        assertEquals(3, FaultSchedule.target(new FaultSchedule.Fault(0, 1, FaultSchedule.Kind.SLOW_DISK, "leader 250ms", 4), nodes, 3));
        assertEquals(2, FaultSchedule.target(new FaultSchedule.Fault(0, 1, FaultSchedule.Kind.SLOW_DISK, "node 250ms", 4), nodes, 3));
        assertEquals(250, FaultSchedule.slowDiskMs(new FaultSchedule.Fault(0, 1, FaultSchedule.Kind.SLOW_DISK, "node 250ms", 4)));
    }

    @Test
    void partitionsCutWhatTheirShapeSays()
    {
        final List<Long> nodes = List.of(1L, 2L, 3L, 4L, 5L);
        final Set<List<Long>> isolate = FaultSchedule.cuts(new FaultSchedule.Fault(0, 1, FaultSchedule.Kind.PARTITION, "isolate-leader", 9),
            nodes, 3);
        assertEquals(8, isolate.size());
        assertTrue(isolate.contains(List.of(3L, 1L)) && isolate.contains(List.of(1L, 3L)));
        final Set<List<Long>> oneWay = FaultSchedule.cuts(new FaultSchedule.Fault(0, 1, FaultSchedule.Kind.PARTITION, "one-way", 9),
            nodes, 2);
        assertEquals(Set.of(List.of(2L, 1L), List.of(2L, 3L), List.of(2L, 4L), List.of(2L, 5L)), oneWay);
        final Set<List<Long>> bridge = FaultSchedule.cuts(new FaultSchedule.Fault(0, 1, FaultSchedule.Kind.PARTITION, "bridge", 9),
            nodes, 0);
        assertEquals(8, bridge.size(), "two halves of two, all four links between them, both ways: " + bridge);
        final long reachesAll = nodes.stream().filter(n -> bridge.stream().noneMatch(c -> c.contains(n))).count();
        assertEquals(1, reachesAll, "one node reaches both halves");
        for (long pick = 0; pick < 50; pick++)
        {
            final Set<List<Long>> split = FaultSchedule.cuts(new FaultSchedule.Fault(0, 1, FaultSchedule.Kind.PARTITION,
                "majority-minority", pick), nodes, 0);
            assertTrue(split.size() == 8 || split.size() == 12, "a minority of one or two: " + split);
        }
    }

    @Test
    void nftablesRulesDropFromCutPeersAndAShareOfTheRest()
    {
        final String script = NamespaceLab.nftScript(2, 3, "10.213.7.", Set.of(List.of(1L, 2L), List.of(2L, 3L)), 22);
        assertTrue(script.contains("ip saddr { 10.213.7.1 } drop"), script);
        assertTrue(script.contains("ip saddr { 10.213.7.1, 10.213.7.3 } numgen random mod 100 < 22 drop"), script);
        assertTrue(script.startsWith("table inet ringraft_nemesis\ndelete table inet ringraft_nemesis\n"), "replaces the table: " + script);
        final String none = NamespaceLab.nftScript(3, 3, "10.213.7.", Set.of(List.of(1L, 2L)), 0);
        assertTrue(!none.contains("drop"), none);
    }
}
