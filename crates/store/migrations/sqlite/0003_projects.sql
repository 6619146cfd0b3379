-- Projects (F12, 000§3(3)): requirements belong to projects with a project manager and team.

CREATE TABLE projects (
    id          INTEGER PRIMARY KEY,
    version     INTEGER NOT NULL DEFAULT 1,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    customer_id INTEGER REFERENCES customers(id),
    manager_id  INTEGER NOT NULL REFERENCES users(id),
    created_at  TEXT NOT NULL
);
CREATE INDEX projects_customer ON projects(customer_id);

CREATE TABLE project_members (
    project_id INTEGER NOT NULL REFERENCES projects(id),
    user_id    INTEGER NOT NULL REFERENCES users(id),
    PRIMARY KEY (project_id, user_id)
);
