/** XenCenter-style property sections: a title bar over a two-column list. */
import type { ReactNode } from 'react';

export function Section({ title, children, id }: { title: string; children: ReactNode; id?: string }) {
  return (
    <section className="section" aria-label={title} {...(id ? { id } : {})}>
      <h3 className="section-title">{title}</h3>
      <dl className="props">{children}</dl>
    </section>
  );
}

export function Prop({ k, children, tone }: { k: string; children: ReactNode; tone?: 'warn' | 'bad' | 'ok' }) {
  return (
    <div className="prop">
      <dt>{k}</dt>
      <dd className={tone ? `tone-${tone}` : undefined}>{children}</dd>
    </div>
  );
}
