package io.ringraft.bench.deployed;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Medians over runs of {@link DeployedShapesBench}: reads the {@code RESULT} lines of one or more output files
 * and prints one markdown row per shape (and variant tag prefix before the first '#') and window, each cell
 * the median with the range of the runs in brackets.
 * <p>
 * {@code java -cp benchmarks.jar io.ringraft.bench.deployed.DeployedSummary results.txt...}
 */
public final class DeployedSummary
{
    private static final java.util.Set<String> COLUMNS = java.util.Set.of("ops", "p50", "p99", "cpu", "cpuUsPerOp", "rssMB", "failures", "idleCpu",
        "wakeUs", "threads");

    private DeployedSummary()
    {
    }

    /**
     * @param args the files to read
     * @throws IOException if one cannot be read
     */
    public static void main(final String[] args) throws IOException
    {
        final Map<String, Map<String, List<Double>>> rows = new LinkedHashMap<>();
        for (final String file : args)
        {
            for (final String line : Files.readAllLines(Path.of(file)))
            {
                if (!line.startsWith("RESULT "))
                {
                    continue;
                }
                final Map<String, String> fields = new LinkedHashMap<>();
                for (final String token : line.substring(7).trim().split("\\s+"))
                {
                    final String[] kv = token.split("=", 2);
                    fields.put(kv[0], kv.length > 1 ? kv[1] : "");
                }
                final String tag = fields.getOrDefault("tag", "");
                final String variant = tag.contains("#") ? tag.substring(0, tag.indexOf('#')) : "";
                final String key = (variant.isEmpty() ? fields.get("shape") : variant) + " | " +
                    (fields.containsKey("window") ? "W=" + fields.get("window") : "idle");
                final Map<String, List<Double>> cells = rows.computeIfAbsent(key, k -> new LinkedHashMap<>());
                fields.forEach((name, value) ->
                {
                    if (COLUMNS.contains(name))
                    {
                        try
                        {
                            cells.computeIfAbsent(name, n -> new ArrayList<>()).add(Double.parseDouble(value));
                        }
                        catch (final NumberFormatException ignore)
                        {
                            // Not a figure.
                        }
                    }
                });
            }
        }
        for (final Map.Entry<String, Map<String, List<Double>>> row : rows.entrySet())
        {
            final StringBuilder out = new StringBuilder("| ").append(row.getKey());
            row.getValue().forEach((name, values) -> out.append(" | ").append(name).append(' ').append(cell(values)));
            System.out.println(out.append(" |"));
        }
    }

    private static String cell(final List<Double> values)
    {
        final double[] sorted = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        final double median = sorted.length % 2 == 1 ? sorted[sorted.length / 2] :
            (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
        return sorted.length == 1 ? format(median) :
            format(median) + " [" + format(sorted[0]) + "–" + format(sorted[sorted.length - 1]) + "] n=" + sorted.length;
    }

    private static String format(final double v)
    {
        if (Double.isNaN(v))
        {
            return "-";
        }
        return Math.abs(v) >= 10_000 ? String.format(Locale.ROOT, "%.1fk", v / 1000) : String.format(Locale.ROOT, "%.1f", v);
    }
}
