package io.ringraft.nemesis;

import io.ringraft.testkit.history.CheckResult;
import io.ringraft.testkit.history.History;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The report directory of a run: {@code summary.txt} (the summary line and the checks),
 * {@code faults.txt} (the fault timeline), {@code leaders.txt}, {@code history.txt} (every
 * operation), {@code violation.txt} when the history is not linearizable, and {@code report.html}:
 * a self-contained page with latency and throughput over time, fault windows shaded and leader
 * changes marked. The nodes' output is there too ({@code node-N.log}).
 */
final class Report
{
    private static final int WIDTH = 1100;
    private static final int LEFT = 60;
    private static final int PLOT = WIDTH - LEFT - 20;
    private static final int LAT_TOP = 30;
    private static final int LAT_HEIGHT = 260;
    private static final int TPUT_TOP = LAT_TOP + LAT_HEIGHT + 40;
    private static final int TPUT_HEIGHT = 140;
    private static final int HEIGHT = TPUT_TOP + TPUT_HEIGHT + 40;
    private static final String[] FAULT_COLOURS = {"#f4c7c3", "#fce8b2", "#c6dafc", "#d9ead3", "#e1d5f0", "#d0e0e3", "#f9cb9c", "#d5a6bd"};

    private Report()
    {
    }

    static void write(final NemesisRun.Options options, final String lab, final String summary, final List<String> checks,
        final List<NemesisWorkload.Op> ops, final List<NemesisRun.Window> windows, final List<StatusWatcher.LeaderChange> leaders,
        final List<Long> recoveries, final List<Long> healToAck, final List<Long> gaps, final History history, final CheckResult linear,
        final long endNs)
    {
        final Path dir = options.reportDir();
        final String nl = System.lineSeparator();
        final StringBuilder text = new StringBuilder(summary).append(nl);
        checks.forEach(c -> text.append("  ").append(c).append(nl));
        text.append("network  ").append(lab).append(nl);
        text.append("replay   ").append(options.replayCommand()).append(nl);
        NemesisRun.writeText(dir.resolve("summary.txt"), text.toString());

        final StringBuilder faults = new StringBuilder("# start_s heal_s (a kill: its restart begins) whole_s (every node runs, " +
            "none paused, no cut) recovery_ms (whole to the next acknowledged write before the next fault) heal_ack_ms (heal to the next " +
            "acknowledged write, whenever) gap_ms (longest stretch without one, from the start to the next fault) not_connected (sends " +
            "dropped as not connected during the fault, then in the 2 s after the heal) what (scheduled: start +duration kind shape)" + nl);
        for (int i = 0; i < windows.size(); i++)
        {
            final NemesisRun.Window w = windows.get(i);
            faults.append(String.format(Locale.ROOT, "%7.2f %7.2f %7.2f %6s %6s %6d %6d %6d  %s   (%s)%n", w.startNs() / 1e9, w.healNs() / 1e9,
                w.wholeNs() / 1e9, recoveries.get(i) < 0 ? "none" : Long.toString(recoveries.get(i)),
                healToAck.get(i) < 0 ? "none" : Long.toString(healToAck.get(i)), gaps.get(i), w.notConnectedDuring(),
                w.notConnectedAfterHeal(), w.what(), w.fault()));
        }
        NemesisRun.writeText(dir.resolve("faults.txt"), faults.toString());

        final StringBuilder leaderText = new StringBuilder("# seen_s leader term" + nl);
        for (final StatusWatcher.LeaderChange c : leaders)
        {
            leaderText.append(String.format(Locale.ROOT, "%7.2f %d %d%n", c.atNs() / 1e9, c.leader(), c.term()));
        }
        NemesisRun.writeText(dir.resolve("leaders.txt"), leaderText.toString());
        NemesisRun.writeText(dir.resolve("history.txt"), history + nl);
        NemesisRun.writeText(dir.resolve("failures.txt"), failures(ops));
        if (!linear.isLinearizable())
        {
            NemesisRun.writeText(dir.resolve("violation.txt"), linear + nl + nl + history.describe(linear.key()) + nl + nl +
                "replay the schedule: " + options.replayCommand() + nl);
        }
        NemesisRun.writeText(dir.resolve("report.html"), html(summary, checks, lab, ops, windows, leaders, endNs));
    }

    /** @return per 10 s of the run, how many operations failed or ended unknown, by what the client said */
    static String failures(final List<NemesisWorkload.Op> ops)
    {
        final java.util.Map<String, Integer> counts = new java.util.TreeMap<>();
        for (final NemesisWorkload.Op op : ops)
        {
            if (op.result().outcome() != NemesisClient.Outcome.OK)
            {
                final long bucket = op.invokeNs() / 10_000_000_000L * 10;
                counts.merge(String.format(Locale.ROOT, "%6d %-7s %-4s %s", bucket, op.result().outcome(), op.kind(), op.result().detail()),
                    1, Integer::sum);
            }
        }
        final StringBuilder text = new StringBuilder("# from_s outcome kind detail count (operations invoked in the 10 s from from_s)\n");
        counts.forEach((k, v) -> text.append(k).append(' ').append(v).append('\n'));
        return text.toString();
    }

    static String html(final String summary, final List<String> checks, final String lab, final List<NemesisWorkload.Op> ops,
        final List<NemesisRun.Window> windows, final List<StatusWatcher.LeaderChange> leaders, final long endNs)
    {
        final double seconds = Math.max(1, endNs / 1e9);
        double maxLatencyMs = 1;
        for (final NemesisWorkload.Op op : ops)
        {
            if (op.result().outcome() != NemesisClient.Outcome.UNKNOWN)
            {
                maxLatencyMs = Math.max(maxLatencyMs, (op.completeNs() - op.invokeNs()) / 1e6);
            }
        }
        final double logMax = Math.log10(Math.max(10, maxLatencyMs * 1.2));
        final double logMin = -1; // 0.1 ms
        final StringBuilder svg = new StringBuilder();
        svg.append("<svg xmlns='http://www.w3.org/2000/svg' width='").append(WIDTH).append("' height='").append(HEIGHT)
            .append("' font-family='sans-serif' font-size='11'>\n");
        // Fault windows across both panels.
        for (int i = 0; i < windows.size(); i++)
        {
            final NemesisRun.Window w = windows.get(i);
            final double x0 = x(w.startNs() / 1e9, seconds);
            final double x1 = x(w.healNs() / 1e9, seconds);
            svg.append(String.format(Locale.ROOT, "<rect x='%.1f' y='%d' width='%.1f' height='%d' fill='%s'><title>%s</title></rect>%n",
                x0, LAT_TOP, Math.max(1, x1 - x0), TPUT_TOP + TPUT_HEIGHT - LAT_TOP, FAULT_COLOURS[w.fault().kind().ordinal()],
                escape(w.what())));
            if (x1 - x0 >= 24)
            {
                svg.append(String.format(Locale.ROOT, "<text x='%.1f' y='%d' fill='#555'>%s</text>%n", x0 + 2, LAT_TOP - 4 - (i % 2) * 10,
                    escape(w.fault().kind().name().toLowerCase(Locale.ROOT))));
            }
        }
        // Axes.
        svg.append(String.format(Locale.ROOT, "<rect x='%d' y='%d' width='%d' height='%d' fill='none' stroke='#888'/>%n", LEFT, LAT_TOP,
            PLOT, LAT_HEIGHT));
        svg.append(String.format(Locale.ROOT, "<rect x='%d' y='%d' width='%d' height='%d' fill='none' stroke='#888'/>%n", LEFT, TPUT_TOP,
            PLOT, TPUT_HEIGHT));
        for (int p = (int)logMin; p <= (int)Math.floor(logMax); p++)
        {
            final double y = LAT_TOP + LAT_HEIGHT - (p - logMin) / (logMax - logMin) * LAT_HEIGHT;
            svg.append(String.format(Locale.ROOT, "<line x1='%d' x2='%d' y1='%.1f' y2='%.1f' stroke='#ddd'/>"
                + "<text x='%d' y='%.1f' text-anchor='end'>%s ms</text>%n", LEFT, LEFT + PLOT, y, y, LEFT - 4, y + 4,
                p < 0 ? "0.1" : Long.toString((long)Math.pow(10, p))));
        }
        int step = 5;
        for (final int nice : new int[]{5, 10, 30, 60, 120, 300, 600, 1800, 3600})
        {
            step = nice;
            if (seconds / nice <= 12)
            {
                break;
            }
        }
        for (int s = 0; s <= seconds; s += step)
        {
            final double xs = x(s, seconds);
            svg.append(String.format(Locale.ROOT, "<text x='%.1f' y='%d' text-anchor='middle'>%d s</text>%n", xs,
                TPUT_TOP + TPUT_HEIGHT + 14, s));
        }
        svg.append(String.format(Locale.ROOT, "<text x='%d' y='%d'>latency per operation (log scale): green ok, orange failed, red "
            + "unknown (drawn at its invocation, top)</text>%n", LEFT + 4, LAT_TOP + 12));
        // Latency dots (at most ~20k, sampled evenly).
        final int stride = Math.max(1, ops.size() / 20_000);
        for (int i = 0; i < ops.size(); i += stride)
        {
            final NemesisWorkload.Op op = ops.get(i);
            final double t = op.invokeNs() / 1e9;
            final String colour;
            final double y;
            if (op.result().outcome() == NemesisClient.Outcome.UNKNOWN)
            {
                colour = "#d93025";
                y = LAT_TOP + 2;
            }
            else
            {
                colour = op.result().outcome() == NemesisClient.Outcome.OK ? "#188038" : "#e37400";
                final double ms = Math.max(0.1, (op.completeNs() - op.invokeNs()) / 1e6);
                y = LAT_TOP + LAT_HEIGHT - (Math.log10(ms) - logMin) / (logMax - logMin) * LAT_HEIGHT;
            }
            svg.append(String.format(Locale.ROOT, "<circle cx='%.1f' cy='%.1f' r='1.3' fill='%s'/>", x(t, seconds), y, colour));
            if (i % (200 * stride) == 0)
            {
                svg.append('\n');
            }
        }
        // Throughput: acknowledged operations per bucket (250 ms, or longer to keep about 500 buckets), by completion time.
        final long bucketNs = Math.max(250_000_000L, (long)(seconds * 1e9 / 500) / 250_000_000L * 250_000_000L);
        final double perSecond = 1e9 / bucketNs;
        final int buckets = (int)Math.ceil(seconds * 1e9 / bucketNs);
        final int[] okPer = new int[buckets + 1];
        for (final NemesisWorkload.Op op : ops)
        {
            if (op.result().outcome() == NemesisClient.Outcome.OK)
            {
                okPer[(int)Math.min(buckets, op.completeNs() / bucketNs)]++;
            }
        }
        int maxBucket = 1;
        for (final int b : okPer)
        {
            maxBucket = Math.max(maxBucket, b);
        }
        final StringBuilder path = new StringBuilder();
        for (int b = 0; b < buckets; b++)
        {
            final double xb = x(b * bucketNs / 1e9, seconds);
            final double yb = TPUT_TOP + TPUT_HEIGHT - okPer[b] * (double)TPUT_HEIGHT / maxBucket;
            path.append(b == 0 ? "M" : " L").append(String.format(Locale.ROOT, "%.1f %.1f", xb, yb));
        }
        svg.append("<path d='").append(path).append("' fill='none' stroke='#1a73e8' stroke-width='1.2'/>\n");
        svg.append(String.format(Locale.ROOT, "<text x='%d' y='%d'>acknowledged operations per second (peak %,d/s)</text>%n", LEFT + 4,
            TPUT_TOP + 12, Math.round(maxBucket * perSecond)));
        // Leader changes: a dashed line each, labelled with the new leader and term (grey and unlabelled while none leads).
        int labelled = 0;
        double lastLabel = -1e9;
        for (final StatusWatcher.LeaderChange c : leaders)
        {
            final double xc = x(c.atNs() / 1e9, seconds);
            svg.append(String.format(Locale.ROOT, "<line x1='%.1f' x2='%.1f' y1='%d' y2='%d' stroke='%s' stroke-dasharray='3,2'/>%n", xc, xc,
                LAT_TOP, TPUT_TOP + TPUT_HEIGHT, c.leader() == 0 ? "#bbb" : "#333"));
            if (c.leader() != 0 && xc - lastLabel >= 30)
            {
                lastLabel = xc;
                svg.append(String.format(Locale.ROOT, "<text x='%.1f' y='%d' fill='#333'>L%d t%d</text>%n", xc + 2,
                    TPUT_TOP - 6 - (labelled++ % 2) * 11, c.leader(), c.term()));
            }
        }
        svg.append("</svg>\n");

        final StringBuilder page = new StringBuilder("<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>ringraft nemesis</title>"
            + "<style>body{font-family:sans-serif;margin:20px} pre{background:#f6f6f6;padding:8px} td{padding:2px 8px}</style>"
            + "</head><body>\n");
        page.append("<h2>ringraft nemesis</h2>\n<pre>").append(escape(summary)).append('\n');
        checks.forEach(c -> page.append(escape(c)).append('\n'));
        page.append("network: ").append(escape(lab)).append("</pre>\n").append(svg);
        page.append("<p>Shaded: fault windows (red kill, yellow pause, blue partition, green loss, violet delay, teal membership, orange slow election), from injection to heal. "
            + "Dashed: leader changes seen by polling every node's status (L = leader, t = term; grey: no leader).</p>\n"
            + "<h3>Faults</h3>\n<table>");
        for (final NemesisRun.Window w : windows)
        {
            page.append(String.format(Locale.ROOT, "<tr><td>%.2f s</td><td>%.2f s</td><td>%s</td></tr>%n", w.startNs() / 1e9,
                w.healNs() / 1e9, escape(w.what())));
        }
        page.append("</table>\n</body></html>\n");
        return page.toString();
    }

    private static double x(final double seconds, final double total)
    {
        return LEFT + seconds / total * PLOT;
    }

    private static String escape(final String s)
    {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&#39;");
    }
}
