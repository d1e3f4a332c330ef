//! Users: list, create, change role, disable or enable, reset password.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use vigil_shared::Role;
use vigil_shared::admin::{CreateUserRequest, ResetPasswordRequest, UpdateUserRequest};
use vigil_shared::auth::User;

use crate::api::{self, ApiError};
use crate::components::{ErrorBanner, FormState, Loaded, Notice, SelectField, TextField};
use crate::format;

fn role_options() -> Vec<(String, String)> {
    Role::ALL
        .iter()
        .map(|r| (r.as_str().to_owned(), r.as_str().to_owned()))
        .collect()
}

#[component]
pub fn UsersPage() -> impl IntoView {
    let users = LocalResource::new(api::list_users);
    // Outcome of the last row action, shown above the table.
    let notice = RwSignal::new(None::<Result<String, ApiError>>);
    let on_change = Callback::new(move |message: Result<String, ApiError>| {
        notice.set(Some(message));
        users.refetch();
    });

    view! {
        <CreateUserForm on_created=on_change/>
        <div class="card">
            <h2>"Users"</h2>
            <Notice notice=notice/>
            <Loaded resource=users what="users" let:list>
                <table class="table" aria-label="Users">
                    <thead><tr>
                        <th>"Email"</th><th>"Name"</th><th>"Role"</th><th>"Teams"</th>
                        <th>"Status"</th><th>"Last login"</th><th></th>
                    </tr></thead>
                    <tbody>
                        {list.users.into_iter().map(|user| view! { <UserRow user=user on_change=on_change/> }).collect_view()}
                    </tbody>
                </table>
            </Loaded>
        </div>
    }
}

#[component]
fn CreateUserForm(on_created: Callback<Result<String, ApiError>>) -> impl IntoView {
    let email = RwSignal::new(String::new());
    let display_name = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let role = RwSignal::new("viewer".to_owned());
    let form = FormState::new();

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let request = CreateUserRequest {
            email: email.get_untracked(),
            display_name: display_name.get_untracked(),
            password: password.get_untracked(),
            role: role.get_untracked().parse().unwrap_or(Role::Viewer),
        };
        form.submit(
            async move { api::create_user(&request).await },
            move |user| {
                email.set(String::new());
                display_name.set(String::new());
                password.set(String::new());
                role.set("viewer".to_owned());
                on_created.run(Ok(format!("Created {} ({}).", user.email, user.role)));
            },
        );
    };

    view! {
        <form class="card form-grid" on:submit=submit aria-label="New user">
            <h2>"New user"</h2>
            <ErrorBanner error=form.general()/>
            <TextField label="Email" name="email" value=email input_type="email" autocomplete="off" error=form.field("email")/>
            <TextField label="Display name" name="display_name" value=display_name error=form.field("display_name")
                hint="Optional; defaults to the part of the email before the @."/>
            <TextField label="Password" name="password" value=password input_type="password" autocomplete="new-password"
                error=form.field("password") hint="At least 8 characters."/>
            <SelectField label="Role" name="role" value=role options=role_options() error=form.field("role")/>
            <div class="form-actions">
                <button class="button primary" type="submit" disabled=move || form.pending.get()>"Create user"</button>
            </div>
        </form>
    }
}

#[component]
fn UserRow(user: User, on_change: Callback<Result<String, ApiError>>) -> impl IntoView {
    let id = user.id;
    let email = user.email.clone();
    let disabled = user.disabled;
    let role = RwSignal::new(user.role.as_str().to_owned());
    let resetting = RwSignal::new(false);
    let new_password = RwSignal::new(String::new());
    let reset_error = RwSignal::new(None::<ApiError>);

    let update = move |request: UpdateUserRequest, done: String| {
        leptos::task::spawn_local(async move {
            match api::update_user(id, &request).await {
                Ok(_) => on_change.run(Ok(done)),
                Err(e) => on_change.run(Err(e)),
            }
        });
    };

    let change_role = {
        let email = email.clone();
        move |ev| {
            let value = event_target_value(&ev);
            role.set(value.clone());
            let Ok(new_role) = value.parse::<Role>() else {
                return;
            };
            update(
                UpdateUserRequest {
                    role: Some(new_role),
                    ..Default::default()
                },
                format!("{email} is now {new_role}."),
            );
        }
    };
    let toggle_disabled = {
        let email = email.clone();
        move |_| {
            let verb = if disabled { "enabled" } else { "disabled" };
            update(
                UpdateUserRequest {
                    disabled: Some(!disabled),
                    ..Default::default()
                },
                format!("{email} is {verb}."),
            );
        }
    };
    let submit_reset = {
        let email = email.clone();
        move |ev: SubmitEvent| {
            ev.prevent_default();
            let request = ResetPasswordRequest {
                password: new_password.get_untracked(),
            };
            let email = email.clone();
            leptos::task::spawn_local(async move {
                match api::reset_password(id, &request).await {
                    Ok(()) => {
                        resetting.set(false);
                        new_password.set(String::new());
                        on_change.run(Ok(format!(
                            "New password set for {email}; their sessions were ended."
                        )));
                    }
                    Err(e) => reset_error.set(Some(e)),
                }
            });
        }
    };
    let reset_field_error = Signal::derive(move || {
        reset_error.with(|e| {
            e.as_ref()
                .map(|e| e.field("password").unwrap_or(e.message.clone()))
        })
    });
    let teams = user
        .teams
        .iter()
        .map(|t| t.name.clone())
        .collect::<Vec<_>>()
        .join(", ");

    view! {
        <tr class:disabled=disabled data-email=email.clone()>
            <td>{email.clone()}</td>
            <td>{user.display_name.clone()}</td>
            <td>
                <select aria-label=format!("Role of {email}") on:change=change_role prop:value=move || role.get()>
                    {Role::ALL.iter().map(|r| view! {
                        <option value=r.as_str() selected=r.as_str() == user.role.as_str()>{r.as_str()}</option>
                    }).collect_view()}
                </select>
            </td>
            <td>{teams}</td>
            <td>{if disabled { view! { <span class="badge badge-muted">"disabled"</span> } } else { view! { <span class="badge badge-ok">"active"</span> } }}</td>
            <td title=format::maybe_time(&user.last_login_at)>
                {user.last_login_at.as_ref().map_or_else(|| "never".to_owned(), format::ago)}
            </td>
            <td><div class="row-actions">
                <button class="button small" on:click=toggle_disabled>{if disabled { "Enable" } else { "Disable" }}</button>
                <button class="button small" on:click=move |_| resetting.update(|r| *r = !*r)>"Reset password"</button>
                <Show when=move || resetting.get()>
                    <form class="inline-form" on:submit=submit_reset.clone()>
                        <TextField label="New password" name=format!("reset-{id}") value=new_password input_type="password"
                            autocomplete="new-password" error=reset_field_error/>
                        <button class="button small primary" type="submit">"Set password"</button>
                    </form>
                </Show>
            </div></td>
        </tr>
    }
}
