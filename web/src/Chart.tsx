/** One performance graph drawn by ECharts (time axis, gaps for unknown values). */
import { useEffect, useRef } from 'react';
import * as echarts from 'echarts/core';
import { LineChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent, TitleComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([LineChart, GridComponent, LegendComponent, TooltipComponent, TitleComponent, CanvasRenderer]);

export interface ChartLine { name: string; points: Array<[number, number | null]> }

export function Chart({ title, lines, unit, format, max }: { title: string; lines: ChartLine[]; unit: string; format: (v: number) => string; max?: number }) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);
  useEffect(() => {
    if (!box.current) return;
    chart.current = echarts.init(box.current, undefined, { renderer: 'canvas' });
    const ro = new ResizeObserver(() => chart.current?.resize());
    ro.observe(box.current);
    return () => { ro.disconnect(); chart.current?.dispose(); chart.current = null; };
  }, []);
  useEffect(() => {
    chart.current?.setOption({
      animation: false,
      grid: { left: 64, right: 16, top: 28, bottom: 28 },
      legend: { top: 0, type: 'scroll', textStyle: { fontSize: 11 } },
      tooltip: { trigger: 'axis', valueFormatter: (v: unknown) => (typeof v === 'number' ? format(v) : '—') },
      xAxis: { type: 'time', axisLabel: { fontSize: 11 } },
      yAxis: { type: 'value', min: 0, ...(max !== undefined ? { max } : {}), axisLabel: { fontSize: 11, formatter: (v: number) => format(v) } },
      series: lines.map((l) => ({ name: l.name, type: 'line', showSymbol: false, connectNulls: false, sampling: 'lttb', data: l.points, lineStyle: { width: 1.5 } })),
    }, { notMerge: true });
  }, [lines, format, max]);
  const finite = lines.reduce((n, l) => n + l.points.filter((p) => p[1] !== null).length, 0);
  const nonZero = lines.reduce((n, l) => n + l.points.filter((p) => p[1] !== null && p[1] !== 0).length, 0);
  return (
    <figure className="graph" aria-label={`${title} graph`} data-graph={title} data-points={finite} data-nonzero={nonZero} data-lines={lines.map((l) => l.name).join(', ')}>
      <figcaption>{title} <span className="muted">({unit})</span></figcaption>
      <div ref={box} className="graph-canvas" />
    </figure>
  );
}
