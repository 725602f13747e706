/** The sign-in page: any pool user; a wrong password is said plainly and nothing else happens. */
import { useState, type FormEvent } from 'react';
import { store } from './store';
import { describeError } from './xapi';

export function Login() {
  const [user, setUser] = useState('root');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      await store.signIn('', user, password);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="login-page">
      <form className="login-box" onSubmit={submit} aria-labelledby="login-title">
        <div className="login-brand"><span className="brand-mark" aria-hidden="true" />Islet Console</div>
        <h1 id="login-title">Connect to Server</h1>
        <p className="muted">Server: <strong>{location.host}</strong></p>
        <label>User name<input name="user" autoComplete="username" value={user} onChange={(e) => setUser(e.target.value)} autoFocus required /></label>
        <label>Password<input name="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} /></label>
        {error && <div className="error" role="alert">{error}</div>}
        <button type="submit" className="primary" disabled={busy}>{busy ? 'Connecting…' : 'Connect'}</button>
      </form>
    </main>
  );
}
