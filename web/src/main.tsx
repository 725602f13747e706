import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import './tabs';
import { store } from './store';
import './styles.css';

// The browser test and the bench read the mirror's timings from here.
(window as unknown as { isletStore: typeof store }).isletStore = store;

createRoot(document.getElementById('root')!).render(<StrictMode><App /></StrictMode>);
