/**
 * The profile report: results.json read and written ({@link dev.sparsa.cli.report.ResultsFiles}) and rendered to one
 * self-contained HTML page with inline SVG charts ({@link dev.sparsa.cli.report.ReportHtml},
 * {@link dev.sparsa.cli.report.Svg}), from the JSON alone. See docs/ARCHITECTURE.md §6.
 */
package dev.sparsa.cli.report;
